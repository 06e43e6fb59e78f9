import { JwtService } from '@nestjs/jwt';
import { AuthError } from '../../src/auth/auth-error.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { ANONYMOUS, type Principal } from '../../src/auth/principal.js';
import { TokenVerifier } from '../../src/auth/token-verifier.js';
import { type AppConfig, loadConfig } from '../../src/config/app-config.js';

const SECRET = 'unit-test-secret-0123456789';
const jwt = new JwtService();

/** AuthService wired as AuthModule does. */
function build(config: AppConfig): AuthService {
  return new AuthService(config, new TokenVerifier(config));
}

function service(env: Record<string, string> = {}): AuthService {
  return build(loadConfig({ JWT_SECRET: SECRET, ...env }));
}

/** Signs with the test secret; expires in an hour unless the claims carry their own `exp`. */
function sign(claims: Record<string, unknown>, options: Record<string, unknown> = {}): string {
  const lifetime = 'exp' in claims ? {} : { expiresIn: 3600 };
  return jwt.sign(claims, { secret: SECRET, algorithm: 'HS256', ...lifetime, ...options });
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The outcome of authenticate(): the principal, or the AuthError message. The peer is 127.0.0.1 unless `remote` says otherwise. */
async function outcome(
  auth: AuthService,
  req: { headers?: Record<string, string>; url?: string; remote?: string | null },
): Promise<Principal | string> {
  const socket = req.remote === null ? undefined : { remoteAddress: req.remote ?? '127.0.0.1' };
  try {
    return await auth.authenticate({ headers: req.headers ?? {}, url: req.url, socket });
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return (err as Error).message;
  }
}

/** The principal of alice's tokens, which expire (so carry expiresAt). */
const alice = { user: 'alice@example.com', isAdmin: false, via: 'jwt', expiresAt: expect.any(Number) } as unknown as Principal;

describe('Authorization header', () => {
  test.each(['Bearer', 'bearer', 'BEARER', 'BeArEr'])('accepts the %s scheme in any case', async (scheme) => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { headers: { authorization: `${scheme} ${token}` } })).toEqual(alice);
  });

  test('tolerates extra spaces around the token', async () => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { headers: { authorization: `Bearer   ${token}  ` } })).toEqual(alice);
  });

  test('a non-bearer scheme is no credential', async () => {
    expect(await outcome(service(), { headers: { authorization: 'Basic YWxpY2U6cHc=' } })).toBe('Authentication required');
  });

  test('the header wins over the query token', async () => {
    const header = sign({ sub: 'header-user' });
    const query = sign({ sub: 'query-user' });
    const result = await outcome(service(), { headers: { authorization: `Bearer ${header}` }, url: `/x?token=${query}` });
    expect((result as Principal).user).toBe('header-user');
  });

  test('a bad header token fails even when a good query token is present', async () => {
    const good = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { headers: { authorization: 'Bearer nonsense' }, url: `/x?token=${good}` })).toBe('Invalid token');
  });
});

describe('query token', () => {
  test('is accepted by default', async () => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { url: `/reverse-proxy/ws?token=${token}` })).toEqual(alice);
  });

  test('is found among other parameters', async () => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { url: `/reverse-proxy/ws?a=1&token=${token}&b=2` })).toEqual(alice);
  });

  test('is ignored with ALLOW_QUERY_TOKEN=false', async () => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service({ ALLOW_QUERY_TOKEN: 'false' }), { url: `/reverse-proxy/ws?token=${token}` })).toBe(
      'Authentication required',
    );
  });

  test('a look-alike parameter is not a token', async () => {
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(), { url: `/x?access_token=${token}` })).toBe('Authentication required');
  });

  test('an empty token is no credential', async () => {
    expect(await outcome(service(), { url: '/x?token=' })).toBe('Authentication required');
  });
});

describe('trusted proxy header', () => {
  const on = { TRUST_PROXY_AUTH: 'true', TRUSTED_PROXIES: '127.0.0.1' };

  test('names the user when TRUST_PROXY_AUTH=true and MCP client auth is off', async () => {
    expect(await outcome(service(on), { headers: { 'x-authenticated-user': 'carol' } })).toEqual({
      user: 'carol',
      isAdmin: false,
      via: 'proxy',
    });
  });

  test('is ignored without TRUST_PROXY_AUTH', async () => {
    expect(await outcome(service(), { headers: { 'x-authenticated-user': 'carol' } })).toBe('Authentication required');
  });

  test('is ignored when MCP_CLIENT_AUTH_ENABLED=true', async () => {
    const auth = service({ ...on, MCP_CLIENT_AUTH_ENABLED: 'true' });
    expect(await outcome(auth, { headers: { 'x-authenticated-user': 'carol' } })).toBe('Authentication required');
  });

  test('uses PROXY_USER_HEADER, whatever its case', async () => {
    const auth = service({ ...on, PROXY_USER_HEADER: 'X-Forwarded-User' });
    expect(((await outcome(auth, { headers: { 'x-forwarded-user': 'dave' } })) as Principal).user).toBe('dave');
    expect(await outcome(auth, { headers: { 'x-authenticated-user': 'carol' } })).toBe('Authentication required');
  });

  test('a blank header is no credential', async () => {
    expect(await outcome(service(on), { headers: { 'x-authenticated-user': '   ' } })).toBe('Authentication required');
  });

  test('a token comes first', async () => {
    const token = sign({ sub: 'alice@example.com' });
    const result = await outcome(service(on), { headers: { authorization: `Bearer ${token}`, 'x-authenticated-user': 'carol' } });
    expect(result).toEqual(alice);
  });

  test('is never admin', async () => {
    expect(((await outcome(service(on), { headers: { 'x-authenticated-user': 'root' } })) as Principal).isAdmin).toBe(false);
  });

  test.each([
    ['another address', '10.0.0.7'],
    ['an IPv4-mapped other address', '::ffff:10.0.0.7'],
    ['IPv6 loopback when only 127.0.0.1 is listed', '::1'],
    ['an unknown peer', null],
  ])('is ignored from %s (not in TRUSTED_PROXIES)', async (_what, remote) => {
    expect(await outcome(service(on), { headers: { 'x-authenticated-user': 'carol' }, remote })).toBe('Authentication required');
  });

  test('from an untrusted peer, auth off: anonymous, not the named user', async () => {
    const auth = service({ ...on, AUTH_REQUIRED: 'false' });
    expect(await outcome(auth, { headers: { 'x-authenticated-user': 'carol' }, remote: '192.0.2.1' })).toEqual(ANONYMOUS);
  });

  test.each([
    ['an IPv4-mapped listed address', '127.0.0.1', '::ffff:127.0.0.1'],
    ['an address inside a listed range', '10.0.0.0/8, 192.168.1.1', '10.20.30.40'],
    ['an IPv4-mapped address inside a listed range', '10.0.0.0/8', '::ffff:10.20.30.40'],
    ['an IPv6 range', 'fd00::/8', 'fd12::1'],
  ])('is believed from %s', async (_what, proxies, remote) => {
    const auth = service({ TRUST_PROXY_AUTH: 'true', TRUSTED_PROXIES: proxies });
    expect(((await outcome(auth, { headers: { 'x-authenticated-user': 'carol' }, remote })) as Principal).user).toBe('carol');
  });
});

describe('token checks', () => {
  test('alg none is refused', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice@example.com', is_admin: true })}.`;
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Invalid token');
  });

  test('a bad signature is refused', async () => {
    const token = jwt.sign({ sub: 'alice@example.com' }, { secret: 'another-secret-0123456789' });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Invalid token');
  });

  test('a tampered payload is refused', async () => {
    const [header, , signature] = sign({ sub: 'alice@example.com' }).split('.');
    const token = `${header}.${b64url({ sub: 'alice@example.com', is_admin: true })}.${signature}`;
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Invalid token');
  });

  test('another HMAC algorithm than JWT_ALGORITHM is refused', async () => {
    const token = sign({ sub: 'alice@example.com' }, { algorithm: 'HS512' });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Invalid token');
    expect(await outcome(service({ JWT_ALGORITHM: 'HS512' }), { headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  });

  test('an expired token is refused as expired', async () => {
    const token = sign({ sub: 'alice@example.com', exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Token expired');
  });

  test('garbage is refused', async () => {
    expect(await outcome(service(), { headers: { authorization: 'Bearer not.a.jwt' } })).toBe('Invalid token');
  });

  test('a token with neither sub nor email is refused', async () => {
    const token = sign({ name: 'Alice', is_admin: true });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Token has neither sub nor email');
  });

  test('empty sub and email count as missing', async () => {
    const token = sign({ sub: '', email: '' });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toBe('Token has neither sub nor email');
  });

  test('email is the owner when there is no sub', async () => {
    const token = sign({ email: 'erin@example.com' });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toEqual({
      user: 'erin@example.com',
      isAdmin: false,
      via: 'jwt',
      expiresAt: expect.any(Number),
    });
  });

  test('sub wins over email', async () => {
    const token = sign({ sub: 'u-123', email: 'erin@example.com' });
    expect(((await outcome(service(), { headers: { authorization: `Bearer ${token}` } })) as Principal).user).toBe('u-123');
  });

  test.each([
    [{ is_admin: true }, true],
    [{ user: { is_admin: true } }, true],
    [{ is_admin: false, user: { is_admin: true } }, true],
    [{ is_admin: 'true' }, false],
    [{ user: { is_admin: 1 } }, false],
    [{ user: 'admin' }, false],
    [{}, false],
  ])('admin from %j is %s', async (claims, isAdmin) => {
    const token = sign({ sub: 'alice@example.com', ...claims });
    expect(((await outcome(service(), { headers: { authorization: `Bearer ${token}` } })) as Principal).isAdmin).toBe(isAdmin);
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  const env = { JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'mcp-gateway' };

  test('a token with the right issuer and audience passes', async () => {
    const token = sign({ sub: 'alice@example.com' }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
    expect(await outcome(service(env), { headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  });

  test.each([
    ['no issuer', { audience: 'mcp-gateway' }, 'Invalid token'],
    ['a wrong issuer', { issuer: 'https://evil.example', audience: 'mcp-gateway' }, 'Invalid token'],
    ['no audience', { issuer: 'https://issuer.example' }, 'Token audience not accepted'],
    ['a wrong audience', { issuer: 'https://issuer.example', audience: 'other' }, 'Token audience not accepted'],
  ])('a token with %s is refused', async (_what, options, message) => {
    const token = sign({ sub: 'alice@example.com' }, options);
    expect(await outcome(service(env), { headers: { authorization: `Bearer ${token}` } })).toBe(message);
  });

  test('without them configured, any issuer and audience pass', async () => {
    const token = sign({ sub: 'alice@example.com' }, { issuer: 'whoever', audience: 'whatever' });
    expect(await outcome(service(), { headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  });
});

describe('auth off', () => {
  const off = { AUTH_REQUIRED: 'false' };

  test('no credentials: anonymous', async () => {
    const auth = service(off);
    expect(auth.required).toBe(false);
    expect(await outcome(auth, {})).toEqual(ANONYMOUS);
  });

  test('presented credentials are still checked', async () => {
    expect(await outcome(service(off), { headers: { authorization: 'Bearer junk' } })).toBe('Invalid token');
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(service(off), { headers: { authorization: `Bearer ${token}` } })).toEqual(alice);
  });

  test('a token without a configured secret is refused, not trusted', async () => {
    const auth = build(loadConfig(off));
    const token = sign({ sub: 'alice@example.com' });
    expect(await outcome(auth, { headers: { authorization: `Bearer ${token}` } })).toBe('Token authentication is not configured');
  });

  test('auth on, no credentials: refused', async () => {
    expect(await outcome(service(), {})).toBe('Authentication required');
  });
});

test('extractToken never reads the query when disabled, and returns the bare token', () => {
  const auth = service();
  expect(auth.extractToken({ headers: { authorization: 'bearer abc.def.ghi' } })).toBe('abc.def.ghi');
  expect(auth.extractToken({ headers: {}, url: '/p?token=abc' })).toBe('abc');
  expect(service({ ALLOW_QUERY_TOKEN: 'false' }).extractToken({ headers: {}, url: '/p?token=abc' })).toBeUndefined();
});
