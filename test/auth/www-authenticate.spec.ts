import { AuthError, AuthMessage } from '../../src/auth/auth-error.js';
import { bearerChallenge, challengeFor } from '../../src/auth/www-authenticate.js';

test('a bare Bearer challenge without credentials; error="invalid_token" when a token was refused (RFC 6750 §3)', () => {
  expect(bearerChallenge()).toBe('Bearer');
  expect(bearerChallenge({ error: 'invalid_token' })).toBe('Bearer error="invalid_token"');
  expect(challengeFor(new AuthError(AuthMessage.Required, false))).toBe('Bearer');
  expect(challengeFor(new AuthError('Token expired'))).toBe('Bearer error="invalid_token"');
  // An unexpected failure says nothing it does not know.
  expect(challengeFor(new Error('boom'))).toBe('Bearer');
});

test('parameter values are quoted strings: quotes and backslashes escaped', () => {
  const challenge = bearerChallenge({ error: 'a"b\\c' as 'invalid_token' });
  expect(challenge).toBe('Bearer error="a\\"b\\\\c"');
});
