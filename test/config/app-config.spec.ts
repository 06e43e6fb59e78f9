import { loadConfig } from '../../src/config/app-config.js';
import { configProblems as problems } from '../support/config-problems.js';

const SECRET = 'a-secret-of-sixteen+';

test('defaults a user would expect', () => {
  expect(loadConfig({ JWT_SECRET: SECRET })).toEqual({
    port: 3000,
    host: '0.0.0.0',
    logLevel: 'info',
    logFormat: 'json',
    auth: {
      required: true,
      mcpClientAuthEnabled: false,
      jwtSecret: SECRET,
      jwtAlgorithm: 'HS256',
      algorithms: ['HS256'],
      jwksUrl: undefined,
      jwksRefreshMs: 300000,
      jwksCooldownMs: 30000,
      jwtIssuer: undefined,
      jwtAudience: undefined,
      audiences: [],
      resourceAudiences: false,
      claims: { user: ['sub', 'email'], adminFlags: ['is_admin', 'user.is_admin'], roles: 'roles', adminRole: undefined, groups: 'groups' },
      allowQueryToken: true,
      trustProxyAuth: false,
      proxyUserHeader: 'x-authenticated-user',
      trustedProxies: [],
    },
    publicUrl: undefined,
    allowedHosts: [],
    limits: { maxJsonDepth: 64 },
    http: {
      headersTimeoutMs: 10000,
      requestTimeoutMs: 30000,
      keepAliveTimeoutMs: 5000,
      maxConnections: 20000,
      streamMaxBufferedBytes: 1024 * 1024,
    },
    shutdown: { graceMs: 10000 },
    tunnel: {
      maxFrameBytes: 4 * 1024 * 1024,
      maxSessionsPerUser: 50,
      maxPendingPerSession: 1024,
      pingIntervalMs: 30000,
      idleTimeoutMs: 90000,
      handshakeTimeoutMs: 10000,
      maxBufferedBytes: 16 * 1024 * 1024,
      stuckTimeoutMs: 30000,
      resumeGraceMs: 30000,
      resumeBufferBytes: 8 * 1024 * 1024,
      tokenWarnMs: 300_000,
      expiry: 'close',
    },
    requests: { defaultTimeoutMs: 60000, maxBodyBytes: 4 * 1024 * 1024 },
    sse: { keepaliveMs: 15000, maxBacklog: 256 },
    mcp: {
      sessionIdleTimeoutMs: 1800000,
      maxSessions: 10000,
      eventStoreMaxEvents: 1000,
      eventStoreMaxBytes: 4 * 1024 * 1024,
      eventStoreTotalBytes: 256 * 1024 * 1024,
      answerWaitMs: 1000,
      maxSessionsPerUser: 100,
      allowedOrigins: [],
    },
    cluster: undefined,
    metrics: { token: undefined },
    console: { enabled: true, oauthClientId: undefined },
  });
});

test('reads every setting', () => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'DEBUG',
    LOG_FORMAT: 'pretty',
    AUTH_REQUIRED: 'no',
    MCP_CLIENT_AUTH_ENABLED: 'off',
    JWT_SECRET: SECRET,
    JWT_ALGORITHM: 'HS512',
    JWT_ISSUER: 'issuer.example',
    JWT_AUDIENCE: 'gateway',
    ALLOW_QUERY_TOKEN: 'false',
    TRUST_PROXY_AUTH: '1',
    PROXY_USER_HEADER: 'X-Forwarded-User',
    TRUSTED_PROXIES: '10.0.0.0/8, ::1',
    PUBLIC_URL: 'https://MCP.example.com:8443/',
    ALLOWED_HOSTS: 'Gateway.internal:3000, other.example',
    MAX_JSON_DEPTH: '32',
    HTTP_HEADERS_TIMEOUT_MS: '2000',
    HTTP_REQUEST_TIMEOUT_MS: '4000',
    HTTP_KEEPALIVE_TIMEOUT_MS: '1000',
    HTTP_MAX_CONNECTIONS: '500',
    STREAM_MAX_BUFFERED_BYTES: '65536',
    SHUTDOWN_GRACE_MS: '0',
    TUNNEL_MAX_BUFFERED_BYTES: '32768',
    TUNNEL_STUCK_TIMEOUT_MS: '700',
    TUNNEL_RESUME_GRACE_MS: '5000',
    TUNNEL_RESUME_BUFFER_BYTES: '65536',
    TUNNEL_TOKEN_WARN_MS: '60000',
    TUNNEL_EXPIRY: 'ignore',
    MCP_EVENT_STORE_MAX_BYTES: '2048',
    MCP_EVENT_STORE_TOTAL_BYTES: '8192',
    MCP_ANSWER_WAIT_MS: '0',
    MCP_MAX_SESSIONS_PER_USER: '4',
    MAX_FRAME_BYTES: '2048',
    MAX_SESSIONS_PER_USER: '3',
    MAX_PENDING_PER_SESSION: '7',
    PING_INTERVAL_MS: '1000',
    IDLE_TIMEOUT_MS: '3000',
    HANDSHAKE_TIMEOUT_MS: '500',
    REQUEST_TIMEOUT_MS: '1500',
    MAX_BODY_BYTES: '4096',
    SSE_KEEPALIVE_MS: '250',
    SSE_MAX_BACKLOG: '10',
    MCP_SESSION_IDLE_TIMEOUT_MS: '60000',
    MCP_MAX_SESSIONS: '20',
    MCP_EVENT_STORE_MAX_EVENTS: '50',
    MCP_ALLOWED_ORIGINS: ' http://localhost:6274, ,https://app.example ',
    METRICS_TOKEN: 'scrape-token-0123456789',
    CONSOLE_ENABLED: 'false',
  });
  expect(config).toEqual({
    port: 8080,
    host: '127.0.0.1',
    logLevel: 'debug',
    logFormat: 'pretty',
    auth: {
      required: false,
      mcpClientAuthEnabled: false,
      jwtSecret: SECRET,
      jwtAlgorithm: 'HS512',
      algorithms: ['HS512'],
      jwksUrl: undefined,
      jwksRefreshMs: 300000,
      jwksCooldownMs: 30000,
      jwtIssuer: 'issuer.example',
      jwtAudience: 'gateway',
      audiences: ['gateway'],
      resourceAudiences: false,
      claims: { user: ['sub', 'email'], adminFlags: ['is_admin', 'user.is_admin'], roles: 'roles', adminRole: undefined, groups: 'groups' },
      allowQueryToken: false,
      trustProxyAuth: true,
      proxyUserHeader: 'x-forwarded-user',
      trustedProxies: ['10.0.0.0/8', '::1'],
    },
    publicUrl: 'https://mcp.example.com:8443',
    allowedHosts: ['gateway.internal:3000', 'other.example'],
    limits: { maxJsonDepth: 32 },
    http: {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 500,
      streamMaxBufferedBytes: 65536,
    },
    shutdown: { graceMs: 0 },
    tunnel: {
      maxFrameBytes: 2048,
      maxSessionsPerUser: 3,
      maxPendingPerSession: 7,
      pingIntervalMs: 1000,
      idleTimeoutMs: 3000,
      handshakeTimeoutMs: 500,
      maxBufferedBytes: 32768,
      stuckTimeoutMs: 700,
      resumeGraceMs: 5000,
      resumeBufferBytes: 65536,
      tokenWarnMs: 60000,
      expiry: 'ignore',
    },
    requests: { defaultTimeoutMs: 1500, maxBodyBytes: 4096 },
    sse: { keepaliveMs: 250, maxBacklog: 10 },
    mcp: {
      sessionIdleTimeoutMs: 60000,
      maxSessions: 20,
      eventStoreMaxEvents: 50,
      eventStoreMaxBytes: 2048,
      eventStoreTotalBytes: 8192,
      answerWaitMs: 0,
      maxSessionsPerUser: 4,
      allowedOrigins: ['http://localhost:6274', 'https://app.example'],
    },
    cluster: undefined,
    metrics: { token: 'scrape-token-0123456789' },
    console: { enabled: false },
  });
});

describe('cluster mode', () => {
  const CLUSTER_SECRET = 'x'.repeat(32);

  test('REDIS_URL turns it on, with its defaults', () => {
    const { cluster } = loadConfig({ JWT_SECRET: SECRET, REDIS_URL: 'redis://redis:6379', CLUSTER_SECRET });
    expect(cluster).toEqual({
      redisUrl: 'redis://redis:6379',
      secret: CLUSTER_SECRET,
      leaseMs: 15000,
      prefix: 'mcp-gw:',
      replicaId: expect.any(String),
    });
    expect(cluster?.replicaId).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
  });

  test('reads every cluster setting', () => {
    const env = {
      JWT_SECRET: SECRET,
      REDIS_URL: 'rediss://r:1',
      CLUSTER_SECRET,
      CLUSTER_LEASE_MS: '3000',
      CLUSTER_PREFIX: '{gw}:',
      REPLICA_ID: 'a-1',
    };
    expect(loadConfig(env).cluster).toEqual({
      redisUrl: 'rediss://r:1',
      secret: CLUSTER_SECRET,
      leaseMs: 3000,
      prefix: '{gw}:',
      replicaId: 'a-1',
    });
  });

  test('a short or missing CLUSTER_SECRET, a bad URL or replica id are refused', () => {
    expect(
      problems({ JWT_SECRET: SECRET, REDIS_URL: 'http://redis', CLUSTER_SECRET: 'short', REPLICA_ID: 'a b', CLUSTER_LEASE_MS: '10' }),
    ).toEqual([
      'REDIS_URL must be a redis:// or rediss:// URL',
      'CLUSTER_SECRET is required with REDIS_URL: at least 32 characters, the same on every replica',
      'REPLICA_ID may hold only letters, digits, ".", "_" and "-" (at most 64)',
      'CLUSTER_LEASE_MS must be a whole number between 1000 and 600000 (got "10")',
    ]);
  });
});

test('empty and blank values mean the default; values are trimmed', () => {
  const config = loadConfig({ JWT_SECRET: SECRET, PORT: '', LOG_LEVEL: '   ', MAX_SESSIONS_PER_USER: ' 5 ' });
  expect([config.port, config.logLevel, config.tunnel.maxSessionsPerUser]).toEqual([3000, 'info', 5]);
});

describe('proxy trust and public address', () => {
  test('TRUST_PROXY_AUTH=true refuses to start without TRUSTED_PROXIES', () => {
    expect(problems({ JWT_SECRET: SECRET, TRUST_PROXY_AUTH: 'true' })).toEqual([
      'TRUSTED_PROXIES must list the proxy addresses (IPs or CIDR ranges) while TRUST_PROXY_AUTH=true',
    ]);
  });

  test.each(['10.0.0.0/33', 'not-an-ip', '10.0.0.1/8/1', '::1/129', '10.0.0.0/'])('TRUSTED_PROXIES refuses %s', (value) => {
    expect(problems({ JWT_SECRET: SECRET, TRUSTED_PROXIES: value })).toEqual([
      `TRUSTED_PROXIES must list IP addresses or CIDR ranges (got "${value}")`,
    ]);
  });

  test.each([
    'mcp.example.com',
    'ftp://mcp.example.com',
    'https://mcp.example.com/base',
    'https://u:p@mcp.example.com',
    'https://x.example/?a=1',
  ])('PUBLIC_URL refuses %s', (value) => {
    expect(problems({ JWT_SECRET: SECRET, PUBLIC_URL: value })).toEqual([expect.stringContaining('PUBLIC_URL must be')]);
  });
});

describe('authentication switches', () => {
  test('refuses to start with auth on and no secret', () => {
    expect(problems({})).toEqual([
      'JWT_SECRET is required while authentication is on (AUTH_REQUIRED=true or MCP_CLIENT_AUTH_ENABLED=true), unless JWT_JWKS_URL is set',
    ]);
  });

  test('MCP_CLIENT_AUTH_ENABLED turns auth on even with AUTH_REQUIRED=false', () => {
    expect(problems({ AUTH_REQUIRED: 'false', MCP_CLIENT_AUTH_ENABLED: 'true' })).toEqual([
      expect.stringContaining('JWT_SECRET is required'),
    ]);
    const config = loadConfig({ AUTH_REQUIRED: 'false', MCP_CLIENT_AUTH_ENABLED: 'true', JWT_SECRET: SECRET });
    expect(config.auth.required).toBe(true);
    expect(config.auth.mcpClientAuthEnabled).toBe(true);
  });

  test('auth off needs no secret', () => {
    const config = loadConfig({ AUTH_REQUIRED: 'false' });
    expect(config.auth.required).toBe(false);
    expect(config.auth.jwtSecret).toBeUndefined();
  });

  test('a short secret is refused', () => {
    expect(problems({ JWT_SECRET: 'short' })).toEqual(['JWT_SECRET must be at least 16 characters']);
  });

  test('the error message names the problem for a person', () => {
    expect(() => loadConfig({})).toThrow(/^Invalid configuration:\n {2}- JWT_SECRET is required/);
  });
});

describe('every bad value gets a clear message', () => {
  test.each([
    ['PORT', 'abc', 'PORT must be a whole number between 0 and 65535 (got "abc")'],
    ['PORT', '70000', 'PORT must be a whole number between 0 and 65535 (got "70000")'],
    ['PORT', '-1', 'PORT must be a whole number between 0 and 65535 (got "-1")'],
    ['PORT', '80.5', 'PORT must be a whole number between 0 and 65535 (got "80.5")'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of error, warn, info, debug (got "loud")'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT must be one of json, pretty (got "xml")'],
    ['AUTH_REQUIRED', 'maybe', 'AUTH_REQUIRED must be true or false (got "maybe")'],
    ['MCP_CLIENT_AUTH_ENABLED', 'sure', 'MCP_CLIENT_AUTH_ENABLED must be true or false (got "sure")'],
    ['ALLOW_QUERY_TOKEN', 'nope', 'ALLOW_QUERY_TOKEN must be true or false (got "nope")'],
    ['TRUST_PROXY_AUTH', '2', 'TRUST_PROXY_AUTH must be true or false (got "2")'],
    ['JWT_ALGORITHM', 'RS256', 'JWT_ALGORITHM must be one of HS256, HS384, HS512 (got "RS256")'],
    ['JWT_ALGORITHM', 'none', 'JWT_ALGORITHM must be one of HS256, HS384, HS512 (got "none")'],
    ['JWT_ALGORITHM', 'hs256', 'JWT_ALGORITHM must be one of HS256, HS384, HS512 (got "hs256")'],
    [
      'JWT_ALGORITHMS',
      'none',
      'JWT_ALGORITHMS must list algorithms among HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519 (got "none")',
    ],
    ['JWT_ALGORITHMS', 'RS256', 'JWT_ALGORITHMS lists RS256, which needs JWT_JWKS_URL'],
    ['JWT_JWKS_URL', 'ftp://idp.example/keys', 'JWT_JWKS_URL must be an http(s) URL without credentials (got "ftp://idp.example/keys")'],
    ['JWT_GROUPS_CLAIM', 'a,b', 'JWT_GROUPS_CLAIM must name one claim'],
    ['JWT_USER_CLAIMS', 'sub,my claim', 'JWT_USER_CLAIMS must name claims without spaces, at most 256 characters each'],
    ['MAX_FRAME_BYTES', '100', 'MAX_FRAME_BYTES must be a whole number between 1024 and 268435456 (got "100")'],
    ['MAX_FRAME_BYTES', '4MB', 'MAX_FRAME_BYTES must be a whole number between 1024 and 268435456 (got "4MB")'],
    ['MAX_SESSIONS_PER_USER', '0', 'MAX_SESSIONS_PER_USER must be a whole number of at least 1 (got "0")'],
    ['MAX_PENDING_PER_SESSION', 'many', 'MAX_PENDING_PER_SESSION must be a whole number of at least 1 (got "many")'],
    ['HANDSHAKE_TIMEOUT_MS', '5', 'HANDSHAKE_TIMEOUT_MS must be a whole number of at least 100 (got "5")'],
    ['REQUEST_TIMEOUT_MS', '1s', 'REQUEST_TIMEOUT_MS must be a whole number of at least 10 (got "1s")'],
    ['MAX_BODY_BYTES', '10', 'MAX_BODY_BYTES must be a whole number of at least 1024 (got "10")'],
    ['SSE_KEEPALIVE_MS', '0', 'SSE_KEEPALIVE_MS must be a whole number of at least 100 (got "0")'],
    ['SSE_MAX_BACKLOG', '0', 'SSE_MAX_BACKLOG must be a whole number of at least 1 (got "0")'],
  ])('%s=%s', (key, value, message) => {
    expect(problems({ JWT_SECRET: SECRET, [key]: value })).toEqual([message]);
  });

  test('PING_INTERVAL_MS below its minimum', () => {
    expect(problems({ JWT_SECRET: SECRET, PING_INTERVAL_MS: '50' })).toContain(
      'PING_INTERVAL_MS must be a whole number of at least 100 (got "50")',
    );
  });

  test('IDLE_TIMEOUT_MS must be longer than PING_INTERVAL_MS', () => {
    expect(problems({ JWT_SECRET: SECRET, PING_INTERVAL_MS: '1000', IDLE_TIMEOUT_MS: '1000' })).toEqual([
      'IDLE_TIMEOUT_MS must be longer than PING_INTERVAL_MS',
    ]);
  });

  test('an HMAC algorithm without JWT_SECRET', () => {
    expect(problems({ AUTH_REQUIRED: 'false', JWT_ALGORITHMS: 'HS256' })).toEqual(['JWT_ALGORITHMS lists HS256, which needs JWT_SECRET']);
  });

  test('JWT_JWKS_URL needs an issuer and an audience (JWT_AUDIENCE or PUBLIC_URL)', () => {
    expect(problems({ JWT_JWKS_URL: 'https://idp.example/jwks' })).toEqual([
      "JWT_ISSUER is required with JWT_JWKS_URL: the identity provider's issuer, checked on every token",
      'JWT_AUDIENCE or PUBLIC_URL is required with JWT_JWKS_URL: a token minted for another service must be refused',
    ]);
  });

  test('lists every problem at once', () => {
    const found = problems({ PORT: 'x', LOG_LEVEL: 'y', AUTH_REQUIRED: 'z' });
    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/PORT[\s\S]*LOG_LEVEL[\s\S]*AUTH_REQUIRED[\s\S]*JWT_SECRET/);
  });
});

describe('identity provider tokens (JWKS)', () => {
  const idp = { JWT_JWKS_URL: 'https://idp.example/jwks', JWT_ISSUER: 'https://idp.example' };

  test('without JWT_SECRET: the asymmetric defaults, PUBLIC_URL as the audience', () => {
    const { auth } = loadConfig({ ...idp, PUBLIC_URL: 'https://mcp.example.com' });
    expect(auth).toMatchObject({
      jwtSecret: undefined,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      jwksUrl: 'https://idp.example/jwks',
      audiences: ['https://mcp.example.com'],
      resourceAudiences: true,
    });
  });

  test('with JWT_SECRET too, HMAC and JWKS at once; JWT_AUDIENCE wins over PUBLIC_URL', () => {
    const { auth } = loadConfig({ ...idp, JWT_SECRET: SECRET, PUBLIC_URL: 'https://mcp.example.com', JWT_AUDIENCE: 'api://gw,gw2' });
    expect(auth).toMatchObject({
      algorithms: ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'],
      audiences: ['api://gw', 'gw2'],
      resourceAudiences: false,
    });
  });

  test('JWT_ALGORITHMS narrows the list; the claims settings are read', () => {
    const { auth } = loadConfig({
      ...idp,
      JWT_AUDIENCE: 'gw',
      JWT_ALGORITHMS: 'ES256, RS256',
      JWT_USER_CLAIMS: 'preferred_username',
      JWT_ROLES_CLAIM: 'realm_access.roles',
      JWT_ADMIN_ROLE: 'gateway-admin',
      JWT_GROUPS_CLAIM: 'https://example.com/groups',
    });
    expect(auth.algorithms).toEqual(['ES256', 'RS256']);
    expect(auth.claims).toEqual({
      user: ['preferred_username'],
      adminFlags: ['is_admin', 'user.is_admin'],
      roles: 'realm_access.roles',
      adminRole: 'gateway-admin',
      groups: 'https://example.com/groups',
    });
  });
});

describe('console sign-in with the identity provider', () => {
  const oauth = { JWT_SECRET: SECRET, PUBLIC_URL: 'https://mcp.example.com', OAUTH_AUTHORIZATION_SERVERS: 'https://login.example.com' };

  test("CONSOLE_OAUTH_CLIENT_ID names the console's public client; unset, the console offers the token field only", () => {
    expect(loadConfig({ ...oauth, CONSOLE_OAUTH_CLIENT_ID: ' mcp-console ' }).console).toEqual({
      enabled: true,
      oauthClientId: 'mcp-console',
    });
    expect(loadConfig(oauth).console.oauthClientId).toBeUndefined();
  });

  test('it needs OAUTH_AUTHORIZATION_SERVERS: the console signs in at the first of them', () => {
    expect(problems({ JWT_SECRET: SECRET, CONSOLE_OAUTH_CLIENT_ID: 'mcp-console' })).toEqual([
      'CONSOLE_OAUTH_CLIENT_ID needs OAUTH_AUTHORIZATION_SERVERS: the console signs in at the first of them',
    ]);
  });

  test.each(['has space', 'x'.repeat(256), 'tab\there', 'é'])('it refuses %j', (value) => {
    expect(problems({ ...oauth, CONSOLE_OAUTH_CLIENT_ID: value })).toEqual([
      'CONSOLE_OAUTH_CLIENT_ID must be a client id of at most 255 printable characters, without spaces',
    ]);
  });
});
