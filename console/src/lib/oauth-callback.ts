import { fieldsOf } from './bounded-json.js';
import type { KeyValueStorage } from './token-store.js';

/** A sign-in under way: what the callback is checked against and the code exchanged with. In session storage only. */
export interface PendingSignIn {
  /** The `state` sent; the callback must bring it back. */
  state: string;
  /** The PKCE code verifier: only its challenge left the page. */
  verifier: string;
  issuer: string;
  /** Whether the callback must name the issuer (`iss`, RFC 9207). */
  issInResponse: boolean;
  tokenEndpoint: string;
  clientId: string;
  resource: string;
  redirectUri: string;
  /** When it started (epoch ms). */
  startedAt: number;
}

/** The redirect back from the provider, from the page's query: a code, or an error. */
export type Callback = { kind: 'code'; code: string; state: string; iss?: string } | { kind: 'error'; error: string; state?: string };

/** How long a sign-in may take at the provider: long enough to type a password, short enough that a stale state is not kept. */
export const PENDING_MAX_AGE_MS = 10 * 60_000;

/** Longest code, state or error code read from the query. */
const MAX_PARAM_CHARS = 2048;

/** The parameters a provider's redirect may add to the page's URL (RFC 6749 §4.1.2, RFC 9207, OIDC session management). */
export const CALLBACK_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'] as const;

const KEY = 'mcp-gateway-console.oauth-pending';

/** The pending sign-in, kept in the tab's session storage; taking it removes it, so it is used once. */
export class PendingSignInStore {
  constructor(private readonly storage: KeyValueStorage) {}

  /** Keeps the sign-in about to start (replacing any earlier one). */
  save(pending: PendingSignIn): void {
    this.storage.setItem(KEY, JSON.stringify(pending));
  }

  /** The pending sign-in, removed from storage; undefined when there is none or it is unreadable. */
  take(): PendingSignIn | undefined {
    let raw: string | null;
    try {
      raw = this.storage.getItem(KEY);
      this.storage.removeItem(KEY);
    } catch {
      return undefined;
    }
    if (raw === null) return undefined;
    try {
      const p = fieldsOf(JSON.parse(raw));
      const strings = ['state', 'verifier', 'issuer', 'tokenEndpoint', 'clientId', 'resource', 'redirectUri'] as const;
      if (!p || !strings.every((k) => typeof p[k] === 'string') || typeof p.startedAt !== 'number') return undefined;
      return { ...(p as unknown as PendingSignIn), issInResponse: p.issInResponse === true };
    } catch {
      return undefined;
    }
  }
}

/** The callback in a location's query (`?code=…&state=…` or `?error=…`); undefined when it holds none. */
export function callbackOf(search: string): Callback | undefined {
  const query = new URLSearchParams(search);
  const param = (name: string): string | undefined => {
    const value = query.get(name);
    return value === null || value === '' || value.length > MAX_PARAM_CHARS ? undefined : value;
  };
  const [code, state, error, iss] = [param('code'), param('state'), param('error'), param('iss')];
  if (error !== undefined) return { kind: 'error', error, ...(state !== undefined ? { state } : {}) };
  if (code !== undefined && state !== undefined) return { kind: 'code', code, state, ...(iss !== undefined ? { iss } : {}) };
  // A query with a code but no state is still a callback: it must fail, not be ignored.
  if (code !== undefined || query.has('state')) return { kind: 'error', error: 'invalid_callback' };
  return undefined;
}

/** `href` without the callback's parameters (its hash and other parameters kept): what the address bar shows after. */
export function urlWithoutCallback(href: string): string {
  const url = new URL(href);
  for (const name of CALLBACK_PARAMS) url.searchParams.delete(name);
  return url.pathname + url.search + url.hash;
}

/** Fixed sentences for the errors a provider sends back; never its own text. */
const PROVIDER_ERRORS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    access_denied: 'The sign-in was cancelled or refused at the identity provider.',
    login_required: 'The identity provider needs you to sign in again.',
    consent_required: 'The identity provider needs your consent for the console.',
    invalid_scope: 'The identity provider does not grant the scopes the gateway asks for.',
    invalid_target: 'The identity provider does not issue tokens for this gateway (resource).',
    unauthorized_client: 'The identity provider does not let the console sign in this way (check its client).',
    invalid_request: 'The identity provider refused the sign-in request (check the console client and its redirect URI).',
    invalid_callback: 'The sign-in came back incomplete.',
  }),
);

/** An RFC 6749 error code, short enough to quote. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** A provider's error code if it is one that may be shown (well formed, short); undefined otherwise. */
export function quotableErrorCode(code: unknown): string | undefined {
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
}

/** A short message for a provider's error code: a fixed sentence, or a generic one naming a well-formed code. */
export function providerErrorMessage(code: string): string {
  const known = PROVIDER_ERRORS.get(code);
  if (known !== undefined) return known;
  const quoted = quotableErrorCode(code);
  return quoted ? `The identity provider refused the sign-in (${quoted}).` : 'The identity provider refused the sign-in.';
}

/**
 * Checks a callback against the pending sign-in at `now`: the code is accepted only with the same
 * `state`, within PENDING_MAX_AGE_MS, and with the issuer's `iss` when it sends one or says it does
 * (RFC 9207: the answer comes from the server the flow started with). Resolves to the code or a
 * short message.
 */
export function checkCallback(callback: Callback, pending: PendingSignIn | undefined, now: number): { code: string } | { error: string } {
  if (!pending) return { error: 'This sign-in was not started in this tab, or was already used: start it again.' };
  if (callback.kind === 'error') {
    return callback.state !== undefined && callback.state !== pending.state
      ? { error: 'The sign-in answer does not belong to this tab: start again.' }
      : { error: providerErrorMessage(callback.error) };
  }
  if (callback.state !== pending.state) return { error: 'The sign-in answer does not belong to this tab: start again.' };
  if (now - pending.startedAt > PENDING_MAX_AGE_MS || now < pending.startedAt)
    return { error: 'The sign-in took too long: start it again.' };
  if (callback.iss !== undefined ? callback.iss !== pending.issuer : pending.issInResponse) {
    return { error: 'The sign-in answer came from another identity provider.' };
  }
  return { code: callback.code };
}
