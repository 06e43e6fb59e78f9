import {
  callbackOf,
  checkCallback,
  PENDING_MAX_AGE_MS,
  PendingSignInStore,
  providerErrorMessage,
  quotableErrorCode,
  urlWithoutCallback,
  type PendingSignIn,
} from '../../../console/src/lib/oauth-callback.js';
import type { KeyValueStorage } from '../../../console/src/lib/token-store.js';

function memory(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const T0 = 1_700_000_000_000;
const PENDING: PendingSignIn = {
  state: 'state-1',
  verifier: 'verifier-1',
  issuer: 'https://idp.example',
  issInResponse: false,
  tokenEndpoint: 'https://idp.example/token',
  clientId: 'mcp-console',
  resource: 'https://mcp.example.com',
  redirectUri: 'https://mcp.example.com/console/',
  startedAt: T0,
};

test('the pending sign-in is kept in session storage and can be taken once', () => {
  const storage = memory();
  const store = new PendingSignInStore(storage);
  store.save(PENDING);
  expect(storage.map.size).toBe(1);
  expect(store.take()).toEqual(PENDING);
  expect(storage.map.size).toBe(0);
  expect(store.take()).toBeUndefined();
});

test('an unreadable or tampered entry is no pending sign-in (and is removed)', () => {
  const storage = memory();
  const store = new PendingSignInStore(storage);
  for (const raw of ['{', '[]', JSON.stringify({ ...PENDING, verifier: 3 }), JSON.stringify({ ...PENDING, startedAt: 'now' })]) {
    storage.map.set('mcp-gateway-console.oauth-pending', raw);
    expect(store.take()).toBeUndefined();
    expect(storage.map.size).toBe(0);
  }
  const throwing: KeyValueStorage = {
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => undefined,
    removeItem: () => undefined,
  };
  expect(new PendingSignInStore(throwing).take()).toBeUndefined();
});

test('callbackOf reads a code, or an error, from the query; nothing from an ordinary address', () => {
  expect(callbackOf('?code=c1&state=s1')).toEqual({ kind: 'code', code: 'c1', state: 's1' });
  expect(callbackOf('?code=c1&state=s1&iss=https%3A%2F%2Fidp.example')).toEqual({
    kind: 'code',
    code: 'c1',
    state: 's1',
    iss: 'https://idp.example',
  });
  expect(callbackOf('?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s1')).toEqual({
    kind: 'error',
    error: 'access_denied',
    state: 's1',
  });
  // Half a callback is one that fails, not one that is ignored.
  expect(callbackOf('?code=c1')).toEqual({ kind: 'error', error: 'invalid_callback' });
  expect(callbackOf('?state=s1')).toEqual({ kind: 'error', error: 'invalid_callback' });
  expect(callbackOf('?code=' + 'x'.repeat(3000) + '&state=s')).toEqual({ kind: 'error', error: 'invalid_callback' });
  for (const search of ['', '?', '?tab=1']) expect(callbackOf(search)).toBeUndefined();
});

test("urlWithoutCallback strips the provider's parameters and keeps the rest of the address", () => {
  expect(urlWithoutCallback('https://mcp.example.com/console/?code=c&state=s&iss=x&session_state=y#/tunnels/a')).toBe(
    '/console/#/tunnels/a',
  );
  expect(urlWithoutCallback('https://mcp.example.com/console/?error=access_denied&error_description=d&error_uri=u&keep=1')).toBe(
    '/console/?keep=1',
  );
});

describe('checkCallback', () => {
  const code = { kind: 'code', code: 'the-code', state: 'state-1' } as const;

  test('the same state, in time: the code', () => {
    expect(checkCallback(code, PENDING, T0 + 1000)).toEqual({ code: 'the-code' });
    expect(checkCallback({ ...code, iss: PENDING.issuer }, { ...PENDING, issInResponse: true }, T0)).toEqual({ code: 'the-code' });
  });

  test('another state, none pending, too late, or another issuer: refused with a short message', () => {
    expect(checkCallback({ ...code, state: 'forged' }, PENDING, T0)).toEqual({
      error: expect.stringContaining('does not belong to this tab'),
    });
    expect(checkCallback(code, undefined, T0)).toEqual({ error: expect.stringContaining('not started in this tab') });
    expect(checkCallback(code, PENDING, T0 + PENDING_MAX_AGE_MS + 1)).toEqual({ error: expect.stringContaining('too long') });
    expect(checkCallback({ ...code, iss: 'https://evil.example' }, PENDING, T0)).toEqual({
      error: expect.stringContaining('another identity provider'),
    });
    // A server that says it sends `iss` must send it (RFC 9207).
    expect(checkCallback(code, { ...PENDING, issInResponse: true }, T0)).toEqual({
      error: expect.stringContaining('another identity provider'),
    });
  });

  test("a provider's error becomes a fixed sentence, never its description", () => {
    expect(checkCallback({ kind: 'error', error: 'access_denied', state: 'state-1' }, PENDING, T0)).toEqual({
      error: 'The sign-in was cancelled or refused at the identity provider.',
    });
    expect(checkCallback({ kind: 'error', error: 'access_denied', state: 'other' }, PENDING, T0)).toEqual({
      error: expect.stringContaining('does not belong to this tab'),
    });
  });
});

test('providerErrorMessage: known codes in words, other well-formed codes quoted, anything else not repeated', () => {
  expect(providerErrorMessage('invalid_scope')).toMatch(/scopes/);
  expect(providerErrorMessage('temporarily_unavailable')).toBe('The identity provider refused the sign-in (temporarily_unavailable).');
  for (const odd of ['<script>x</script>"', 'x'.repeat(65), 'bad\u0000code']) {
    expect(providerErrorMessage(odd)).toBe('The identity provider refused the sign-in.');
  }
  // Not an inherited property of a lookup table.
  expect(providerErrorMessage('constructor')).toBe('The identity provider refused the sign-in (constructor).');
  expect([quotableErrorCode(3), quotableErrorCode('bad"code'), quotableErrorCode('invalid_grant')]).toEqual([
    undefined,
    undefined,
    'invalid_grant',
  ]);
});
