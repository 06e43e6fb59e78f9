import { AuthError, AuthMessage } from '../../src/auth/auth-error.js';
import { bearerChallenge, challengeFor, challengeForRequest } from '../../src/auth/www-authenticate.js';

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

describe('with protected resource metadata (RFC 9728 §5.1)', () => {
  const hints = { scope: 'mcp openid', resource_metadata: 'https://gw.example/.well-known/oauth-protected-resource/servers/x/mcp' };
  const META = 'resource_metadata="https://gw.example/.well-known/oauth-protected-resource/servers/x/mcp"';

  test('the hints follow the error, in a fixed order, whatever order they were given in', () => {
    expect(challengeFor(new AuthError(AuthMessage.Required, false), hints)).toBe(`Bearer ${META}, scope="mcp openid"`);
    expect(challengeFor(new AuthError('Token expired'), hints)).toBe(`Bearer error="invalid_token", ${META}, scope="mcp openid"`);
  });

  test("a guard's 401: invalid_token when a bearer token came, with the hints either way", () => {
    expect(challengeForRequest({}, hints)).toBe(`Bearer ${META}, scope="mcp openid"`);
    expect(challengeForRequest({ authorization: 'Bearer x' }, hints)).toBe(`Bearer error="invalid_token", ${META}, scope="mcp openid"`);
  });

  test('hints cannot override the error: a refused token is always invalid_token', () => {
    const sneaky = { ...hints, error: undefined } as never;
    expect(challengeFor(new AuthError('Token expired'), sneaky)).toMatch(/^Bearer error="invalid_token", /);
  });

  test('no scope configured: resource_metadata alone', () => {
    expect(challengeFor(new AuthError(AuthMessage.Required, false), { resource_metadata: 'https://gw.example/m' })).toBe(
      'Bearer resource_metadata="https://gw.example/m"',
    );
  });
});
