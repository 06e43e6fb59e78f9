import { JwtService } from '@nestjs/jwt';
import { AuthError } from '../../src/auth/auth-error.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { MAX_TOKEN_LENGTH, TokenVerifier } from '../../src/auth/token-verifier.js';
import { loadConfig } from '../../src/config/app-config.js';

const SECRET = 'unit-test-secret-0123456789';
const config = loadConfig({ JWT_SECRET: SECRET });
const sign = (claims: Record<string, unknown>): string => new JwtService().sign(claims, { secret: SECRET, expiresIn: 3600 });

test('a token is verified once; the repeat is answered from the cache, whichever door presents it', async () => {
  const tokens = new TokenVerifier(config);
  const auth = new AuthService(config, tokens);
  const token = sign({ sub: 'alice@example.com', groups: ['dev'] });
  expect(tokens.recentlyVerified(token)).toBeUndefined();

  // An HTTP request's bearer header, then a tunnel upgrade's `?token=`: one AuthService, one cache.
  const first = await auth.authenticate({ headers: { authorization: `Bearer ${token}` } });
  expect(first).toEqual({ user: 'alice@example.com', isAdmin: false, via: 'jwt', groups: ['dev'], expiresAt: expect.any(Number) });
  expect(tokens.recentlyVerified(token)).toEqual(first);
  expect(await auth.authenticate({ headers: {}, url: `/reverse-proxy/ws?token=${token}` })).toEqual(first);
  expect(tokens.recentlyVerified(sign({ sub: 'bob@example.com' }))).toBeUndefined();
});

test('expiresAt is the token exp in milliseconds', async () => {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const token = new JwtService().sign({ sub: 'alice', exp }, { secret: SECRET });
  expect((await new TokenVerifier(config).verify({}, token)).expiresAt).toBe(exp * 1000);
});

test('a refused token is not remembered: it is refused again', async () => {
  const tokens = new TokenVerifier(config);
  const token = sign({ name: 'no owner' });
  await expect(tokens.verify({}, token)).rejects.toThrow(new AuthError('Token has neither sub nor email'));
  expect(tokens.recentlyVerified(token)).toBeUndefined();
  await expect(tokens.verify({}, token)).rejects.toThrow(new AuthError('Token has neither sub nor email'));
});

test('without a secret or a JWKS, any token is refused as not configured', async () => {
  const tokens = new TokenVerifier(loadConfig({ AUTH_REQUIRED: 'false' }));
  await expect(tokens.verify({}, sign({ sub: 'alice@example.com' }))).rejects.toThrow(
    new AuthError('Token authentication is not configured'),
  );
});

test('a token longer than MAX_TOKEN_LENGTH is refused unparsed', async () => {
  const token = sign({ sub: 'alice', pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
  await expect(new TokenVerifier(config).verify({}, token)).rejects.toThrow(new AuthError('Invalid token'));
});
