import { signToken } from '../../src/auth/sign-token.js';
import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { rawUpgrade } from '../support/raw-upgrade.js';
import { eventually } from '../support/wait.js';

/** Tries to open a tunnel; resolves with the HTTP status of a refused upgrade (fails if it opened). */
async function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const tunnel = await FakeTunnel.connect(url, headers);
    await tunnel.close();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === undefined) throw err;
    return status;
  }
  throw new Error('the upgrade was accepted');
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const open: FakeTunnel[] = [];

async function connect(url: string, headers: Record<string, string> = {}): Promise<FakeTunnel> {
  const tunnel = await FakeTunnel.connect(url, headers);
  open.push(tunnel);
  return tunnel;
}

async function register(url: string, token: string | undefined, server?: Record<string, unknown>) {
  const result = await FakeTunnel.register(url, token, server);
  open.push(result.tunnel);
  return result;
}

afterEach(async () => {
  await closeTunnels(open);
});

describe('default gateway: auth required', () => {
  let gw: RunningGateway;
  let admin: string;
  const sessionCount = async () => (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: admin })).body.total;

  beforeAll(async () => {
    gw = await startGateway({ MAX_SESSIONS_PER_USER: '2' });
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  test.each([
    ['no credentials', () => ({})],
    ['a Basic header', () => ({ Authorization: 'Basic YWxpY2U6c2VjcmV0' })],
    ['a bearer header with garbage', () => ({ Authorization: 'Bearer not-a-jwt' })],
    [
      'a token signed with another secret',
      () => ({ Authorization: `Bearer ${signToken({ secret: 'some-other-secret-0123456789', sub: 'alice' })}` }),
    ],
    [
      'an alg:none token',
      () => ({ Authorization: `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice', is_admin: true })}.` }),
    ],
    ['an expired token', () => ({ Authorization: `Bearer ${signToken({ secret: TEST_SECRET, sub: 'alice', expiresIn: -10 })}` })],
    ['a token without sub or email', () => ({ Authorization: `Bearer ${signToken({ secret: TEST_SECRET, expiresIn: '1h' })}` })],
    ['a proxy header while proxy auth is off', () => ({ 'X-Authenticated-User': 'alice' })],
  ])('%s: the upgrade is refused with 401 and no session appears', async (_what, headers) => {
    expect(await refusedStatus(gw.tunnelUrl, headers())).toBe(401);
    expect(await sessionCount()).toBe(0);
  });

  test('a bad query token is refused with 401', async () => {
    expect(await refusedStatus(`${gw.tunnelUrl}?token=garbage`)).toBe(401);
    expect(await sessionCount()).toBe(0);
  });

  test('the refusal is plain HTTP with a short reason', async () => {
    expect(await rawUpgrade(gw.tunnelUrl)).toMatchObject({ status: 401, body: 'Authentication required' });
    const expired = signToken({ secret: TEST_SECRET, sub: 'alice', expiresIn: -10 });
    expect(await rawUpgrade(gw.tunnelUrl, { Authorization: `Bearer ${expired}` })).toMatchObject({ status: 401, body: 'Token expired' });
    expect(await rawUpgrade(gw.tunnelUrl, { Authorization: 'Bearer x.y.z' })).toMatchObject({ status: 401, body: 'Invalid token' });
  });

  test.each(['Bearer', 'bearer', 'BEARER'])('a valid token in an Authorization header with scheme %s opens a session', async (scheme) => {
    const token = gw.mintToken('alice@example.com');
    const tunnel = await connect(gw.tunnelUrl, { Authorization: `${scheme} ${token}` });
    tunnel.send({ type: 'register', server: { name: `by-header-${scheme}`, capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    expect(ack.status).toBe('success');
    const session = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}`, { token: admin });
    expect(session.body.user).toBe('alice@example.com');
  });

  test('a valid ?token= opens a session owned by its subject', async () => {
    const token = gw.mintToken('bob@example.com');
    const tunnel = await connect(`${gw.tunnelUrl}?token=${encodeURIComponent(token)}`);
    tunnel.send({ type: 'register', server: { name: 'by-query', capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    const session = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}`, { token: admin });
    expect(session.body.user).toBe('bob@example.com');
  });

  test('a token carrying only an email owns the session by email', async () => {
    const token = signToken({ secret: TEST_SECRET, email: 'erin@example.com', expiresIn: '1h' });
    const { sessionId } = await register(gw.tunnelUrl, token, { name: 'by-email', capabilities: {} });
    const session = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: admin });
    expect(session.body.user).toBe('erin@example.com');
  });

  test.each([['/reverse-proxy'], ['/reverse-proxy/']])('the tunnel is served on the alias path %s too', async (path) => {
    const token = gw.mintToken('alice@example.com');
    const { sessionId } = await register(`${gw.wsUrl}${path}`, token, { name: 'alias', capabilities: {} });
    expect(sessionId).toMatch(/^[0-9a-f]{32}$/);
    expect(await refusedStatus(`${gw.wsUrl}${path}`)).toBe(401);
  });

  test('the alias path accepts a query token', async () => {
    const token = gw.mintToken('alice@example.com');
    const tunnel = await connect(`${gw.wsUrl}/reverse-proxy?token=${encodeURIComponent(token)}`);
    tunnel.send({ type: 'heartbeat' });
    expect((await tunnel.next((f) => f.type === 'heartbeat')).sessionId).toMatch(/^[0-9a-f]{32}$/);
  });

  test('a client-chosen X-Session-ID (header or frame) is ignored', async () => {
    const token = gw.mintToken('alice@example.com');
    const chosen = '00000000000000000000000000000000';
    const tunnel = await connect(gw.tunnelUrl, { Authorization: `Bearer ${token}`, 'X-Session-ID': chosen });
    tunnel.send({ type: 'register', sessionId: chosen, server: { name: 'chosen', capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    expect(ack.sessionId).toMatch(/^[0-9a-f]{32}$/);
    expect(ack.sessionId).not.toBe(chosen);
    expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${chosen}`, { token: admin })).status).toBe(404);
  });

  test('session ids are unique per connection', async () => {
    const token = gw.mintToken('dora@example.com');
    const a = await register(gw.tunnelUrl, token, { name: 'uniq-a', capabilities: {} });
    const b = await register(gw.tunnelUrl, token, { name: 'uniq-b', capabilities: {} });
    expect(a.sessionId).not.toBe(b.sessionId);
  });

  test('past MAX_SESSIONS_PER_USER the upgrade is refused; other users are not affected; a freed slot is usable again', async () => {
    const token = gw.mintToken('frank@example.com');
    const first = await connect(gw.tunnelUrl, { Authorization: `Bearer ${token}` });
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${token}` });
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: `Bearer ${token}` })).toBe(429);
    const owned = async () =>
      (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: admin })).body.sessions.filter(
        (s: { user: string }) => s.user === 'frank@example.com',
      ).length;
    expect(await owned()).toBe(2);
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('grace@example.com')}` });
    await first.close();
    await eventually(async () => (await owned()) === 1, 'the closed session to leave');
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${token}` });
    expect(await owned()).toBe(2);
  });
});

describe('session limit under concurrent upgrades', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MAX_SESSIONS_PER_USER: '2' });
  });
  afterAll(() => gw.close());

  test('eight upgrades at once from one user: exactly two are accepted, the rest get 429', async () => {
    const headers = { Authorization: `Bearer ${gw.mintToken('burst@example.com')}` };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => FakeTunnel.connect(gw.tunnelUrl, headers)));
    for (const r of results) if (r.status === 'fulfilled') open.push(r.value);
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? 'open' : (r.reason as { status?: number }).status));
    expect(outcomes.filter((o) => o === 'open')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 429)).toHaveLength(6);
    const list = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { headers });
    expect(list.body.total).toBe(2);
  });
});

describe('ALLOW_QUERY_TOKEN=false', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ ALLOW_QUERY_TOKEN: 'false' });
  });
  afterAll(() => gw.close());

  test('a valid query token is refused; the header still works', async () => {
    const token = gw.mintToken('alice@example.com');
    expect(await refusedStatus(`${gw.tunnelUrl}?token=${encodeURIComponent(token)}`)).toBe(401);
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${token}` });
  });

  test('the admin API does not take query tokens either', async () => {
    const token = gw.mintToken('alice@example.com');
    expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions?token=${token}`)).status).toBe(401);
  });
});

describe('TRUST_PROXY_AUTH=true', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ TRUST_PROXY_AUTH: 'true', TRUSTED_PROXIES: '127.0.0.1, ::1', PROXY_USER_HEADER: 'X-Forwarded-User' });
  });
  afterAll(() => gw.close());

  test('the proxy header names the owner of the tunnel and of admin API calls', async () => {
    const tunnel = await connect(gw.tunnelUrl, { 'X-Forwarded-User': 'carol' });
    tunnel.send({ type: 'register', server: { name: 'via-proxy', capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    expect(ack.status).toBe('success');
    const mine = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}`, { headers: { 'X-Forwarded-User': 'carol' } });
    expect(mine.status).toBe(200);
    expect(mine.body.user).toBe('carol');
    const theirs = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}`, {
      headers: { 'X-Forwarded-User': 'mallory' },
    });
    expect(theirs.status).toBe(403);
  });

  test('the default header name is not trusted when another is configured', async () => {
    expect(await refusedStatus(gw.tunnelUrl, { 'X-Authenticated-User': 'carol' })).toBe(401);
  });

  test('a bad token is not rescued by the proxy header', async () => {
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: 'Bearer junk', 'X-Forwarded-User': 'carol' })).toBe(401);
  });
});

describe('TRUST_PROXY_AUTH=true, the caller is not one of TRUSTED_PROXIES', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    // The tests connect from 127.0.0.1, which is not listed.
    gw = await startGateway({ TRUST_PROXY_AUTH: 'true', TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8' });
  });
  afterAll(() => gw.close());

  test('the proxy header is ignored on the tunnel upgrade and on the admin API', async () => {
    expect(await rawUpgrade(gw.tunnelUrl, { 'X-Authenticated-User': 'carol' })).toMatchObject({
      status: 401,
      body: 'Authentication required',
    });
    const res = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { headers: { 'X-Authenticated-User': 'carol' } });
    expect([res.status, res.body.message]).toEqual([401, 'Authentication required']);
    const mcp = await http('GET', `${gw.httpUrl}/servers`, { headers: { 'X-Authenticated-User': 'carol' } });
    expect(mcp.status).toBe(401);
  });

  test('a token still works', async () => {
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('carol')}` });
  });
});

describe('TRUST_PROXY_AUTH=true with MCP_CLIENT_AUTH_ENABLED=true', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      TRUST_PROXY_AUTH: 'true',
      TRUSTED_PROXIES: '127.0.0.1, ::1',
      MCP_CLIENT_AUTH_ENABLED: 'true',
      AUTH_REQUIRED: 'false',
    });
  });
  afterAll(() => gw.close());

  test('the proxy header is not enough; a token is', async () => {
    expect(await refusedStatus(gw.tunnelUrl, { 'X-Authenticated-User': 'carol' })).toBe(401);
    expect(await refusedStatus(gw.tunnelUrl)).toBe(401);
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('carol')}` });
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  let gw: RunningGateway;
  const iss = 'https://id.example';
  const aud = 'mcp-gateway';
  beforeAll(async () => {
    gw = await startGateway({ JWT_ISSUER: iss, JWT_AUDIENCE: aud });
  });
  afterAll(() => gw.close());

  test('only tokens with the right issuer and audience open a tunnel', async () => {
    const make = (issuer?: string, audience?: string) =>
      signToken({ secret: TEST_SECRET, sub: 'alice', expiresIn: '1h', issuer, audience });
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: `Bearer ${make()}` })).toBe(401);
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: `Bearer ${make('https://evil.example', aud)}` })).toBe(401);
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: `Bearer ${make(iss, 'other')}` })).toBe(401);
    await connect(gw.tunnelUrl, { Authorization: `Bearer ${make(iss, aud)}` });
    expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: make(iss, aud) })).body.total).toBe(1);
    expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: make() })).status).toBe(401);
  });
});

describe('AUTH_REQUIRED=false', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ AUTH_REQUIRED: 'false' });
  });
  afterAll(() => gw.close());

  test('a tunnel without credentials is anonymous', async () => {
    const { sessionId } = await register(gw.tunnelUrl, undefined, { name: 'anon', capabilities: {} });
    const session = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`);
    expect(session.status).toBe(200);
    expect(session.body.user).toBeNull();
  });

  test('presented credentials are still checked', async () => {
    expect(await refusedStatus(gw.tunnelUrl, { Authorization: 'Bearer junk' })).toBe(401);
  });
});
