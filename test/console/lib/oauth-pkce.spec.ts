import { base64url, challengeOf, createPkcePair, randomToken, type WebCrypto } from '../../../console/src/lib/oauth-pkce.js';

const webCrypto: WebCrypto = globalThis.crypto;

test("the S256 challenge of RFC 7636's example verifier is the RFC's", async () => {
  expect(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', webCrypto)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('a fresh pair: a 43-character unreserved verifier from getRandomValues, and its challenge', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const { verifier, challenge } = await createPkcePair(webCrypto);
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge).toBe(await challengeOf(verifier, webCrypto));
    seen.add(verifier);
  }
  expect(seen.size).toBe(20);
});

test('randomness comes from the crypto given (so a spec can pin it)', () => {
  const fixed: WebCrypto = { getRandomValues: (a) => a.fill(0xff), subtle: webCrypto.subtle };
  expect(randomToken(fixed)).toBe('_'.repeat(42) + '8');
});

test('base64url: no padding, URL-safe alphabet', () => {
  expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  expect(base64url(new Uint8Array([]))).toBe('');
  expect(base64url(new TextEncoder().encode('any carnal pleas'))).toBe('YW55IGNhcm5hbCBwbGVhcw');
});
