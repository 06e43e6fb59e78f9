import { signToken } from '../../../src/auth/sign-token.js';
import { summarizeToken } from '../../../console/src/lib/token-claims.js';

test('reads sub (else email) and exp from a JWT, unverified, for display only', () => {
  const summary = summarizeToken(signToken({ secret: 's'.repeat(16), sub: 'alice@example.com', expiresIn: 60 }));
  expect(summary.subject).toBe('alice@example.com');
  expect(summary.expiresAt).toBeGreaterThan(Date.now());
  expect(summarizeToken(signToken({ secret: 's'.repeat(16), email: 'bob@example.com' }))).toEqual({ subject: 'bob@example.com' });
});

test('anything else reads as nothing', () => {
  for (const token of ['', 'opaque', 'a.!!!.c', `a.${Buffer.from('[1]').toString('base64url')}.c`, `a.${'x'.repeat(9000)}.c`]) {
    expect(summarizeToken(token)).toEqual({});
  }
});
