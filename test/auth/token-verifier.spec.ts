import { jest } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import passport from 'passport';
import { AuthError } from '../../src/auth/auth-error.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { JwtStrategy } from '../../src/auth/jwt.strategy.js';
import { TokenVerifier } from '../../src/auth/token-verifier.js';
import { loadConfig } from '../../src/config/app-config.js';

const SECRET = 'unit-test-secret-0123456789';
const config = loadConfig({ JWT_SECRET: SECRET });
const sign = (claims: Record<string, unknown>): string => new JwtService().sign(claims, { secret: SECRET, expiresIn: 3600 });
const alice = { user: 'alice@example.com', isAdmin: false, via: 'jwt' };

afterEach(() => jest.restoreAllMocks());

test('a token is verified by the passport-jwt strategy once; the repeat is answered from the cache, whichever door presents it', async () => {
  const tokens = new TokenVerifier(config);
  const strategy = new JwtStrategy(tokens);
  const validate = jest.spyOn(strategy, 'validate');
  const auth = new AuthService(config, tokens);
  const token = sign({ sub: 'alice@example.com' });

  // An HTTP request's bearer header, then a tunnel upgrade's `?token=`: one AuthService, one cache.
  expect(await auth.authenticate({ headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  expect(await auth.authenticate({ headers: {}, url: `/reverse-proxy/ws?token=${token}` })).toEqual(alice);
  expect(await auth.authenticate({ headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  expect(validate).toHaveBeenCalledTimes(1);

  // Another token is verified in its own right.
  expect(await auth.authenticate({ headers: { authorization: `Bearer ${sign({ sub: 'bob@example.com' })}` } })).toMatchObject({
    user: 'bob@example.com',
  });
  expect(validate).toHaveBeenCalledTimes(2);
});

test('a refused token is not remembered: it is refused again', async () => {
  const tokens = new TokenVerifier(config);
  new JwtStrategy(tokens);
  const token = sign({ name: 'no owner' });
  await expect(tokens.verify({}, token)).rejects.toThrow(new AuthError('Token has neither sub nor email'));
  await expect(tokens.verify({}, token)).rejects.toThrow(new AuthError('Token has neither sub nor email'));
});

test('without a secret, any token is refused before passport runs', async () => {
  const tokens = new TokenVerifier(loadConfig({ AUTH_REQUIRED: 'false' }));
  const authenticate = jest.spyOn(passport, 'authenticate');
  await expect(tokens.verify({}, sign({ sub: 'alice@example.com' }))).rejects.toThrow(
    new AuthError('Token authentication is not configured'),
  );
  expect(authenticate).not.toHaveBeenCalled();
});

test('with no jwt strategy registered, verification fails instead of waiting forever', async () => {
  const tokens = new TokenVerifier(config);
  passport.unuse('jwt');
  const failure = tokens.verify({}, sign({ sub: 'alice@example.com' }));
  await expect(failure).rejects.toThrow('Unknown authentication strategy "jwt"');
  await expect(failure).rejects.not.toBeInstanceOf(AuthError);
});
