import type { Fetch } from './api.js';
import { fieldsOf, readBoundedJson } from './bounded-json.js';
import { checkCallback, PendingSignInStore, quotableErrorCode, type Callback, type PendingSignIn } from './oauth-callback.js';
import { discoverAuthorizationServer, type AuthorizationServer } from './oauth-discovery.js';
import type { OAuthOffer } from './oauth-offer.js';
import { createPkcePair, randomToken, type PkcePair, type WebCrypto } from './oauth-pkce.js';
import { normalizeToken, type KeyValueStorage } from './token-store.js';

/** What the sign-in flow uses of the page: given, so the specs run it without a browser. */
export interface SignInDeps {
  fetch: Fetch;
  crypto: WebCrypto;
  /** The tab's session storage. */
  storage: KeyValueStorage;
  now(): number;
}

/** A sign-in that cannot go on, with a short message for the page (never a provider's own text). */
export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

/** Largest token endpoint answer read. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** The authorization request (RFC 6749 §4.1.1, PKCE S256, RFC 8707 `resource`) as a URL to navigate to. */
export function authorizeUrlOf(server: AuthorizationServer, offer: OAuthOffer, pkce: PkcePair, state: string): string {
  const url = new URL(server.authorizationEndpoint);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: offer.clientId,
    redirect_uri: offer.redirectUri,
    state,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    resource: offer.resource,
    ...(offer.scopes.length > 0 ? { scope: offer.scopes.join(' ') } : {}),
  };
  // Set, not appended: the endpoint's own query is kept (RFC 6749 §3.1), and ours cannot be doubled.
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

/**
 * Starts a sign-in: finds the provider's endpoints, makes the PKCE pair and the state, keeps them
 * in session storage, and resolves with the authorization URL the page navigates to.
 */
export async function startSignIn(offer: OAuthOffer, deps: SignInDeps): Promise<string> {
  const server = await discoverAuthorizationServer(offer.issuer, deps.fetch);
  if (!server) throw new SignInError(`${offer.label} could not be reached, or its metadata does not allow this sign-in.`);
  const pkce = await createPkcePair(deps.crypto);
  const state = randomToken(deps.crypto);
  const pending: PendingSignIn = {
    state,
    verifier: pkce.verifier,
    issuer: server.issuer,
    issInResponse: server.issInResponse,
    tokenEndpoint: server.tokenEndpoint,
    clientId: offer.clientId,
    resource: offer.resource,
    redirectUri: offer.redirectUri,
    startedAt: deps.now(),
  };
  new PendingSignInStore(deps.storage).save(pending);
  return authorizeUrlOf(server, offer, pkce, state);
}

/** Exchanges the code for an access token at the token endpoint (public client: the verifier instead of a secret). */
export async function exchangeCode(pending: PendingSignIn, code: string, fetcher: Fetch): Promise<string> {
  let res: Response;
  try {
    res = await fetcher(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
        resource: pending.resource,
      }).toString(),
      credentials: 'omit',
      redirect: 'error',
    });
  } catch {
    throw new SignInError('The identity provider could not be reached to finish the sign-in.');
  }
  const body = fieldsOf(await readBoundedJson(res, MAX_TOKEN_RESPONSE_BYTES));
  if (!res.ok) {
    const error = quotableErrorCode(body?.error);
    throw new SignInError(`The identity provider did not issue a token${error ? ` (${error})` : ''}.`);
  }
  const token = typeof body?.access_token === 'string' ? normalizeToken(body.access_token) : undefined;
  if (!token || typeof body?.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
    throw new SignInError('The identity provider answered without a bearer token.');
  }
  return token;
}

/**
 * Finishes a sign-in from the provider's redirect: takes the pending sign-in out of storage (used
 * once, whatever happens next), checks the callback against it, and exchanges the code. Resolves
 * with the access token; rejects with a SignInError.
 */
export async function finishSignIn(callback: Callback, deps: SignInDeps): Promise<string> {
  const pending = new PendingSignInStore(deps.storage).take();
  const checked = checkCallback(callback, pending, deps.now());
  if ('error' in checked || !pending) throw new SignInError('error' in checked ? checked.error : 'No sign-in is under way.');
  return exchangeCode(pending, checked.code, deps.fetch);
}
