import type { Fetch } from '../../../console/src/lib/api.js';
import type { PendingSignIn } from '../../../console/src/lib/oauth-callback.js';
import type { OAuthOffer } from '../../../console/src/lib/oauth-offer.js';
import { challengeOf } from '../../../console/src/lib/oauth-pkce.js';
import {
  authorizeUrlOf,
  exchangeCode,
  finishSignIn,
  SignInError,
  startSignIn,
  type SignInDeps,
} from '../../../console/src/lib/oauth-sign-in.js';
import type { KeyValueStorage } from '../../../console/src/lib/token-store.js';

const ISSUER = 'http://127.0.0.1:9000';
const OFFER: OAuthOffer = {
  clientId: 'mcp-console',
  issuer: ISSUER,
  label: '127.0.0.1:9000',
  resource: 'https://mcp.example.com',
  scopes: ['mcp', 'openid'],
  redirectUri: 'https://mcp.example.com/console/',
  here: true,
};
const METADATA = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/auth?tenant=t1`,
  token_endpoint: `${ISSUER}/token`,
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
};
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';

function memory(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

/** The flow's page, with a fetch that answers `respond` and records every request. */
function page(respond: (url: string, init?: RequestInit) => Response | Promise<Response>) {
  const requests: { url: string; init?: RequestInit }[] = [];
  const fetch: Fetch = async (url, init) => (requests.push({ url, init }), respond(url, init));
  const storage = memory();
  const deps: SignInDeps = { fetch, crypto: globalThis.crypto, storage, now: () => 1_700_000_000_000 };
  return { deps, storage, requests };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const provider = (tokenAnswer: () => Response) => (url: string) =>
  url === `${ISSUER}/.well-known/oauth-authorization-server` ? json(METADATA) : url === `${ISSUER}/token` ? tokenAnswer() : json({}, 404);

test('start: the authorization URL asks for a code with PKCE S256, a state, the resource and the scopes; verifier and state stay in session storage', async () => {
  const { deps, storage } = page(provider(() => json({}, 500)));
  const url = new URL(await startSignIn(OFFER, deps));
  expect(url.origin + url.pathname).toBe(`${ISSUER}/auth`);
  const q = Object.fromEntries(url.searchParams);
  expect(q).toEqual({
    tenant: 't1',
    response_type: 'code',
    client_id: 'mcp-console',
    redirect_uri: 'https://mcp.example.com/console/',
    state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    code_challenge_method: 'S256',
    resource: 'https://mcp.example.com',
    scope: 'mcp openid',
  });
  const pending = JSON.parse(storage.map.get('mcp-gateway-console.oauth-pending')!) as PendingSignIn;
  expect(pending).toMatchObject({ state: q.state, issuer: ISSUER, issInResponse: true, tokenEndpoint: `${ISSUER}/token` });
  // Only the challenge left the page; the verifier did not.
  expect(q.code_challenge).toBe(await challengeOf(pending.verifier, globalThis.crypto));
  expect(url.href).not.toContain(pending.verifier);
});

test('start: no usable metadata, a short message naming the provider, and nothing kept', async () => {
  const { deps, storage } = page(() => json({}, 404));
  await expect(startSignIn(OFFER, deps)).rejects.toEqual(
    new SignInError('127.0.0.1:9000 could not be reached, or its metadata does not allow this sign-in.'),
  );
  expect(storage.map.size).toBe(0);
});

test('authorizeUrlOf leaves scope out when the gateway lists none', () => {
  const server = { issuer: ISSUER, authorizationEndpoint: `${ISSUER}/auth`, tokenEndpoint: `${ISSUER}/token`, issInResponse: false };
  const url = new URL(authorizeUrlOf(server, { ...OFFER, scopes: [] }, { verifier: 'v', challenge: 'c' }, 's'));
  expect(url.searchParams.has('scope')).toBe(false);
});

test('finish: the code is exchanged with the verifier (no secret, no cookie) for a bearer token, and the pending sign-in is gone', async () => {
  const { deps, storage, requests } = page(provider(() => json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 600 })));
  const url = new URL(await startSignIn(OFFER, deps));
  const state = url.searchParams.get('state')!;
  const { verifier } = JSON.parse(storage.map.get('mcp-gateway-console.oauth-pending')!) as PendingSignIn;

  expect(await finishSignIn({ kind: 'code', code: 'the-code', state, iss: ISSUER }, deps)).toBe(TOKEN);
  expect(storage.map.size).toBe(0);
  const exchange = requests.at(-1)!;
  expect([exchange.url, exchange.init?.method, exchange.init?.credentials, exchange.init?.redirect]).toEqual([
    `${ISSUER}/token`,
    'POST',
    'omit',
    'error',
  ]);
  expect((exchange.init?.headers as Record<string, string>)['Content-Type']).toBe('application/x-www-form-urlencoded');
  expect(Object.fromEntries(new URLSearchParams(exchange.init?.body as string))).toEqual({
    grant_type: 'authorization_code',
    code: 'the-code',
    redirect_uri: 'https://mcp.example.com/console/',
    client_id: 'mcp-console',
    code_verifier: verifier,
    resource: 'https://mcp.example.com',
  });
});

test('finish: a forged state is refused before any request, and the pending sign-in is used up all the same', async () => {
  const { deps, storage, requests } = page(provider(() => json({ access_token: TOKEN, token_type: 'Bearer' })));
  await startSignIn(OFFER, deps);
  const before = requests.length;
  await expect(finishSignIn({ kind: 'code', code: 'c', state: 'forged', iss: ISSUER }, deps)).rejects.toThrow(
    /does not belong to this tab/,
  );
  expect(requests.length).toBe(before);
  expect(storage.map.size).toBe(0);
  await expect(finishSignIn({ kind: 'code', code: 'c', state: 'forged' }, deps)).rejects.toThrow(/not started in this tab/);
});

describe('exchangeCode refuses what is not a bearer token, with a short message', () => {
  const pending: PendingSignIn = {
    state: 's',
    verifier: 'v',
    issuer: ISSUER,
    issInResponse: false,
    tokenEndpoint: `${ISSUER}/token`,
    clientId: 'c',
    resource: 'https://mcp.example.com',
    redirectUri: 'https://mcp.example.com/console/',
    startedAt: 0,
  };
  const exchange = (answer: () => Response | Promise<Response>) => exchangeCode(pending, 'code', async () => answer());

  test.each([
    [
      'an error answer',
      () => json({ error: 'invalid_grant', error_description: '<img src=x onerror=alert(1)>' }, 400),
      'The identity provider did not issue a token (invalid_grant).',
    ],
    ['an error answer with an odd code', () => json({ error: '<b>"x"</b>' }, 400), 'The identity provider did not issue a token.'],
    ['no token', () => json({ token_type: 'Bearer' }), 'The identity provider answered without a bearer token.'],
    [
      'another token type',
      () => json({ access_token: TOKEN, token_type: 'DPoP' }),
      'The identity provider answered without a bearer token.',
    ],
    [
      'a token with spaces',
      () => json({ access_token: 'a b', token_type: 'bearer' }),
      'The identity provider answered without a bearer token.',
    ],
    ['not JSON', () => new Response('<html>'), 'The identity provider answered without a bearer token.'],
    [
      'no answer (CORS)',
      () => Promise.reject(new TypeError('Failed to fetch')),
      'The identity provider could not be reached to finish the sign-in.',
    ],
  ])('%s', async (_what, answer, message) => {
    await expect(exchange(answer)).rejects.toEqual(new SignInError(message));
  });
});
