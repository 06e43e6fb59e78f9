/** What the client answers to `token_expiring` (src/client/token-refresh.ts). */
import { signToken } from '../../src/auth/sign-token.js';
import { decideRefresh, tokenExpiresAt } from '../../src/client/token-refresh.js';

const secret = 'client-side-secret-never-checked';
const now = Date.now();
const expiresAt = now + 60_000;
const inUse = signToken({ secret, sub: 'u', expiresIn: 60 });

test("reads a JWT's exp without checking it; undefined for a token without one or not a JWT", () => {
  const exp = tokenExpiresAt(signToken({ secret, sub: 'u', expiresIn: 3600 }))!;
  expect(Math.abs(exp - (now + 3_600_000))).toBeLessThan(5_000);
  expect(tokenExpiresAt(signToken({ secret, sub: 'u' }))).toBeUndefined();
  expect(tokenExpiresAt('not-a-jwt')).toBeUndefined();
});

test('a different token that outlives the one in use is sent', () => {
  const fresh = signToken({ secret, sub: 'u', expiresIn: 3600 });
  expect(decideRefresh({ fresh, presented: inUse, expiresAt, now, tokenFile: '/t' })).toEqual({ send: fresh });
  // A token without exp never expires: it outlives any.
  const forever = signToken({ secret, sub: 'u' });
  expect(decideRefresh({ fresh: forever, presented: inUse, expiresAt, now, tokenFile: '/t' })).toEqual({ send: forever });
});

test('no file, the same token, an expired or shorter one, or an unreadable file: advice, never a send', () => {
  const cases = [
    { input: { fresh: inUse, presented: inUse }, says: 'no fresh token is available; give the token in a file (--token-file)' },
    { input: { fresh: inUse, presented: inUse, tokenFile: '/t' }, says: 'no fresh token is available; write a fresh token to /t' },
    { input: { fresh: signToken({ secret, sub: 'u', expiresIn: -10 }), presented: inUse, tokenFile: '/t' }, says: 'has expired as well' },
    { input: { fresh: signToken({ secret, sub: 'u', expiresIn: 30 }), presented: inUse, tokenFile: '/t' }, says: 'does not last longer' },
    { input: { fresh: inUse, presented: inUse, tokenFile: '/t', readError: 'ENOENT' }, says: 'cannot be read (ENOENT)' },
  ];
  for (const { input, says } of cases) {
    const decision = decideRefresh({ ...input, expiresAt, now });
    expect(decision).toEqual({ advice: expect.stringContaining(says) });
  }
});
