/**
 * The gateway's settings, read from the environment once at start-up and validated into a typed
 * object. Nothing else in the code reads process.env.
 */

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface AppConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  auth: {
    /** AUTH_REQUIRED || MCP_CLIENT_AUTH_ENABLED. */
    required: boolean;
    mcpClientAuthEnabled: boolean;
    jwtSecret: string | undefined;
    /** The HMAC algorithm `npm run token` signs with (JWT_ALGORITHM); the default of `algorithms` with JWT_SECRET. */
    jwtAlgorithm: 'HS256' | 'HS384' | 'HS512';
    /** Algorithms a token may be signed with (JWT_ALGORITHMS): HMAC ones use JWT_SECRET, the others JWT_JWKS_URL's keys. */
    algorithms: JwtAlgorithm[];
    /** Where the identity provider publishes its signing keys (a JWKS); undefined: HMAC tokens only. */
    jwksUrl: string | undefined;
    /** A fetched JWKS is used this long; the next token verified after that fetches it again. */
    jwksRefreshMs: number;
    /** Shortest time between two JWKS fetches: a token with an unknown `kid` refetches at most this often. */
    jwksCooldownMs: number;
    jwtIssuer: string | undefined;
    jwtAudience: string | undefined;
    /** Audiences a token must name one of: JWT_AUDIENCE's list, else PUBLIC_URL when JWKS is on; empty: not checked. */
    audiences: string[];
    /**
     * The audiences are PUBLIC_URL's (JWT_AUDIENCE unset, JWKS on): then a server's resource identifier
     * `<PUBLIC_URL>/servers/<name>/mcp` is accepted too, on that server's doors only, and HMAC tokens are not checked.
     */
    resourceAudiences: boolean;
    /** Which claims name the user, mark an admin and list the groups. */
    claims: ClaimsConfig;
    allowQueryToken: boolean;
    /** Trusted proxy header auth; only honoured when MCP client auth is off. */
    trustProxyAuth: boolean;
    proxyUserHeader: string;
    /** Peers (IP addresses or CIDR ranges) whose proxy user header is believed; required with trustProxyAuth. */
    trustedProxies: string[];
  };
  /**
   * Where clients reach the gateway (scheme, host, port, no path), e.g. https://mcp.example.com.
   * Used to build the URLs the gateway hands out, and its host is allowed in `Host`.
   */
  publicUrl: string | undefined;
  /** Host names (with optional :port) accepted in `Host` besides loopback and the public URL's; `*` accepts any. */
  allowedHosts: string[];
  limits: {
    /** Deepest nesting of arrays and objects accepted in any JSON from a peer (frames and bodies). */
    maxJsonDepth: number;
  };
  http: {
    /** Time a client has to send its request headers. */
    headersTimeoutMs: number;
    /** Time a client has to send its whole request, body included. */
    requestTimeoutMs: number;
    /** An idle keep-alive connection is closed after this long. */
    keepAliveTimeoutMs: number;
    /** Open HTTP connections (tunnels included); more are refused. */
    maxConnections: number;
    /** Bytes a streamed response (SSE, MCP streams) may hold for a client that does not read; then the stream ends. */
    streamMaxBufferedBytes: number;
  };
  shutdown: {
    /** On SIGTERM, calls in flight get this long to finish before they are answered with an error. */
    graceMs: number;
  };
  tunnel: {
    maxFrameBytes: number;
    maxSessionsPerUser: number;
    maxPendingPerSession: number;
    pingIntervalMs: number;
    idleTimeoutMs: number;
    handshakeTimeoutMs: number;
    /** Bytes queued for a tunnel that is not reading; past this its calls get 503. */
    maxBufferedBytes: number;
    /** A tunnel that stays over maxBufferedBytes this long is closed. */
    stuckTimeoutMs: number;
    /** How long a resumable tunnel's session waits for its client to reconnect after its connection dropped. */
    resumeGraceMs: number;
    /** Bytes of frames kept per resumable tunnel until its client acknowledges them (what a resume sends again). */
    resumeBufferBytes: number;
    /** How long before its token's `exp` a tunnel that can refresh it is told (at most half the token's remaining life). */
    tokenWarnMs: number;
    /** What happens at `exp` to a tunnel whose client cannot refresh its token (an older client): `close` it, or `ignore` it. */
    expiry: 'close' | 'ignore';
  };
  requests: {
    defaultTimeoutMs: number;
    maxBodyBytes: number;
  };
  sse: {
    keepaliveMs: number;
    maxBacklog: number;
  };
  mcp: {
    /** An MCP client session with no open HTTP exchange for this long is closed. */
    sessionIdleTimeoutMs: number;
    /** MCP client sessions the gateway holds at once, all servers together. */
    maxSessions: number;
    /** Events kept per MCP session for Last-Event-ID resumption; the oldest go first. */
    eventStoreMaxEvents: number;
    /** Bytes of events kept per MCP session for resumption. */
    eventStoreMaxBytes: number;
    /** Bytes of events kept for resumption, all MCP sessions together. */
    eventStoreTotalBytes: number;
    /** How long a POST's answer may take and still come back as one JSON body; past it, an SSE stream (0: always SSE). */
    answerWaitMs: number;
    /** MCP client sessions one user may hold at once. */
    maxSessionsPerUser: number;
    /** Browser origins allowed besides the gateway's own; `*` allows any. */
    allowedOrigins: string[];
  };
  /** Cluster mode (several replicas sharing a Redis directory); undefined: one process, in memory. */
  cluster: ClusterConfig | undefined;
  /** The gateway as an OAuth protected resource (RFC 9728 metadata); undefined: OAUTH_AUTHORIZATION_SERVERS unset, none served. */
  oauth: OAuthResourceConfig | undefined;
  metrics: {
    /** Bearer token `GET /metrics` requires; undefined: the endpoint is open. */
    token: string | undefined;
  };
  console: {
    /** Whether the admin console's page is served at /console (its data comes from the API, with a token). */
    enabled: boolean;
    /** The console's public OAuth client at the first authorization server (sign-in with PKCE); undefined: token paste only. */
    oauthClientId: string | undefined;
  };
}

/** Signature algorithms the gateway can verify; `none` is never one. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
/** A signature algorithm the gateway can verify. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
/** The algorithms accepted from JWKS keys when JWT_ALGORITHMS is unset. */
export const DEFAULT_JWKS_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** Where the principal's fields come from in a verified token (claim paths: `realm_access.roles`, or an exact key such as `https://example.com/roles`). */
export interface ClaimsConfig {
  /** Claims naming the user, the first present wins (JWT_USER_CLAIMS). */
  user: string[];
  /** Claims that make the caller an admin when they are `true` (JWT_ADMIN_CLAIMS). */
  adminFlags: string[];
  /** Claim holding the caller's roles (JWT_ROLES_CLAIM). */
  roles: string;
  /** Role that makes the caller an admin (JWT_ADMIN_ROLE); undefined: roles make no admin. */
  adminRole: string | undefined;
  /** Claim holding the caller's groups (JWT_GROUPS_CLAIM). */
  groups: string;
}

/** Cluster mode's settings (REDIS_URL set). */
export interface ClusterConfig {
  /** The Redis every replica shares (`redis://` or `rediss://`). */
  redisUrl: string;
  /** Shared by the replicas: signs what they send each other over Redis. */
  secret: string;
  /** A replica that has not renewed its lease for this long is dead: its tunnels leave every listing. */
  leaseMs: number;
  /** Prefix of every Redis key and channel, so clusters can share one Redis. */
  prefix: string;
  /** This replica's id, unique in the cluster. */
  replicaId: string;
}

/** What the Protected Resource Metadata publishes (OAUTH_AUTHORIZATION_SERVERS set; PUBLIC_URL is then required). */
export interface OAuthResourceConfig {
  /** Issuer URLs of the authorization servers whose tokens the gateway accepts, as written (issuers compare as strings). */
  authorizationServers: string[];
  /** `scopes_supported`, and the `scope` of every 401's challenge; empty: not published. */
  scopes: string[];
  /** `resource_documentation`: a page for people about this gateway; undefined: not published. */
  resourceDocumentation: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Every variable the gateway reads, with its default; .env.example mirrors this table. */
export const CONFIG_DEFAULTS = {
  PORT: '3000',
  HOST: '0.0.0.0',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  AUTH_REQUIRED: 'true',
  MCP_CLIENT_AUTH_ENABLED: 'false',
  JWT_SECRET: '',
  JWT_ALGORITHM: 'HS256',
  JWT_ALGORITHMS: '',
  JWT_JWKS_URL: '',
  JWT_JWKS_REFRESH_MS: '300000',
  JWT_JWKS_COOLDOWN_MS: '30000',
  JWT_ISSUER: '',
  JWT_AUDIENCE: '',
  JWT_USER_CLAIMS: 'sub,email',
  JWT_ADMIN_CLAIMS: 'is_admin,user.is_admin',
  JWT_ROLES_CLAIM: 'roles',
  JWT_ADMIN_ROLE: '',
  JWT_GROUPS_CLAIM: 'groups',
  ALLOW_QUERY_TOKEN: 'true',
  TRUST_PROXY_AUTH: 'false',
  PROXY_USER_HEADER: 'X-Authenticated-User',
  TRUSTED_PROXIES: '',
  PUBLIC_URL: '',
  ALLOWED_HOSTS: '',
  MAX_JSON_DEPTH: '64',
  HTTP_HEADERS_TIMEOUT_MS: '10000',
  HTTP_REQUEST_TIMEOUT_MS: '30000',
  HTTP_KEEPALIVE_TIMEOUT_MS: '5000',
  HTTP_MAX_CONNECTIONS: '20000',
  STREAM_MAX_BUFFERED_BYTES: String(1024 * 1024),
  SHUTDOWN_GRACE_MS: '10000',
  MAX_FRAME_BYTES: String(4 * 1024 * 1024),
  MAX_SESSIONS_PER_USER: '50',
  MAX_PENDING_PER_SESSION: '1024',
  PING_INTERVAL_MS: '30000',
  IDLE_TIMEOUT_MS: '90000',
  HANDSHAKE_TIMEOUT_MS: '10000',
  TUNNEL_MAX_BUFFERED_BYTES: String(16 * 1024 * 1024),
  TUNNEL_STUCK_TIMEOUT_MS: '30000',
  TUNNEL_RESUME_GRACE_MS: '30000',
  TUNNEL_RESUME_BUFFER_BYTES: String(8 * 1024 * 1024),
  TUNNEL_TOKEN_WARN_MS: '300000',
  TUNNEL_EXPIRY: 'close',
  REQUEST_TIMEOUT_MS: '60000',
  MAX_BODY_BYTES: String(4 * 1024 * 1024),
  SSE_KEEPALIVE_MS: '15000',
  SSE_MAX_BACKLOG: '256',
  MCP_SESSION_IDLE_TIMEOUT_MS: '1800000',
  MCP_MAX_SESSIONS: '10000',
  MCP_EVENT_STORE_MAX_EVENTS: '1000',
  MCP_EVENT_STORE_MAX_BYTES: String(4 * 1024 * 1024),
  MCP_EVENT_STORE_TOTAL_BYTES: String(256 * 1024 * 1024),
  MCP_ANSWER_WAIT_MS: '1000',
  MCP_MAX_SESSIONS_PER_USER: '100',
  MCP_ALLOWED_ORIGINS: '',
  REDIS_URL: '',
  CLUSTER_SECRET: '',
  CLUSTER_LEASE_MS: '15000',
  CLUSTER_PREFIX: 'mcp-gw:',
  REPLICA_ID: '',
  METRICS_TOKEN: '',
  OAUTH_AUTHORIZATION_SERVERS: '',
  OAUTH_SCOPES: '',
  OAUTH_RESOURCE_DOCUMENTATION: '',
  CONSOLE_ENABLED: 'true',
  CONSOLE_OAUTH_CLIENT_ID: '',
} as const;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(key: ConfigKey): string {
    const value = this.env[key];
    return value === undefined || value.trim() === '' ? CONFIG_DEFAULTS[key] : value.trim();
  }

  optional(key: ConfigKey): string | undefined {
    return this.raw(key) || undefined;
  }

  bool(key: ConfigKey): boolean {
    const value = this.raw(key).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${key} must be true or false (got "${value}")`);
    return CONFIG_DEFAULTS[key] === 'true';
  }

  int(key: ConfigKey, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(key);
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
      this.problems.push(`${key} must be a whole number ${range} (got "${value}")`);
      return Number(CONFIG_DEFAULTS[key]);
    }
    return n;
  }

  /** Comma-separated values, trimmed, empty ones skipped. */
  list(key: ConfigKey): string[] {
    return this.raw(key)
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }

  /** Comma-separated IP addresses or CIDR ranges (`10.0.0.0/8`, `::1`). */
  cidrs(key: ConfigKey): string[] {
    const values = this.list(key);
    for (const value of values) {
      const [address, prefix, extra] = value.split('/');
      const family = isIP(address ?? '');
      const bits = family === 6 ? 128 : 32;
      const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
      if (family === 0 || !prefixOk || extra !== undefined) {
        this.problems.push(`${key} must list IP addresses or CIDR ranges (got "${value}")`);
      }
    }
    return values;
  }

  /** An http(s) origin: scheme, host and optional port, no path, query or credentials. */
  origin(key: ConfigKey): string | undefined {
    const value = this.optional(key);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problems.push(`${key} must be a URL such as https://mcp.example.com (got "${value}")`);
      return undefined;
    }
    const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!['http:', 'https:'].includes(url.protocol) || !bare) {
      this.problems.push(`${key} must be an http(s) URL with no path, query or credentials (got "${value}")`);
      return undefined;
    }
    return url.origin;
  }

  oneOf<T extends string>(key: ConfigKey, allowed: readonly T[], caseInsensitive = true): T {
    const value = this.raw(key);
    const found = allowed.find((a) => (caseInsensitive ? a.toLowerCase() === value.toLowerCase() : a === value));
    if (!found) {
      this.problems.push(`${key} must be one of ${allowed.join(', ')} (got "${value}")`);
      return CONFIG_DEFAULTS[key] as T;
    }
    return found;
  }
}

/** Shortest CLUSTER_SECRET accepted: it is an HMAC key every replica holds. */
export const MIN_CLUSTER_SECRET_LENGTH = 32;

/** Cluster settings, when REDIS_URL is set. */
function readCluster(r: Reader): ClusterConfig | undefined {
  const redisUrl = r.optional('REDIS_URL');
  if (redisUrl === undefined) return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) r.problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  const secret = r.optional('CLUSTER_SECRET') ?? '';
  if (secret.length < MIN_CLUSTER_SECRET_LENGTH) {
    r.problems.push(
      `CLUSTER_SECRET is required with REDIS_URL: at least ${MIN_CLUSTER_SECRET_LENGTH} characters, the same on every replica`,
    );
  }
  const replicaId = r.optional('REPLICA_ID') ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(replicaId)) r.problems.push('REPLICA_ID may hold only letters, digits, ".", "_" and "-" (at most 64)');
  const prefix = r.raw('CLUSTER_PREFIX');
  if (prefix.length > 64) r.problems.push('CLUSTER_PREFIX must be at most 64 characters');
  return { redisUrl, secret, leaseMs: r.int('CLUSTER_LEASE_MS', 1000, 600_000), prefix, replicaId };
}

/** An RFC 6749 scope-token: printable ASCII but space, `"` and `\\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** An OAuth client id: printable ASCII without spaces (RFC 6749 allows spaces; no provider issues them). */
const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;

/** An http(s) URL with no credentials, query or fragment (an issuer, a documentation page); undefined when it is not one. */
function plainHttpUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const plain = ['http:', 'https:'].includes(url.protocol) && !url.username && !url.password && !url.search && !url.hash;
  return plain && !/[\s"\\]/.test(value) ? value : undefined;
}

/** Protected Resource Metadata settings, when OAUTH_AUTHORIZATION_SERVERS is set. */
function readOAuth(r: Reader): OAuthResourceConfig | undefined {
  const authorizationServers = r.list('OAUTH_AUTHORIZATION_SERVERS');
  if (authorizationServers.length === 0) return undefined;
  for (const server of authorizationServers) {
    if (plainHttpUrl(server) === undefined) {
      r.problems.push(`OAUTH_AUTHORIZATION_SERVERS must list issuer URLs (http or https, no query or credentials; got "${server}")`);
    }
  }
  const scopes = r
    .raw('OAUTH_SCOPES')
    .split(/[\s,]+/)
    .filter((s) => s !== '');
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) r.problems.push(`OAUTH_SCOPES must list scope names without quotes or backslashes (got "${scope}")`);
  }
  const resourceDocumentation = r.optional('OAUTH_RESOURCE_DOCUMENTATION');
  if (resourceDocumentation !== undefined && plainHttpUrl(resourceDocumentation) === undefined) {
    r.problems.push(`OAUTH_RESOURCE_DOCUMENTATION must be an http(s) URL with no query or credentials (got "${resourceDocumentation}")`);
  }
  return { authorizationServers, scopes, resourceDocumentation };
}

const HMAC_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);
/** A claim path: printable, no spaces, bounded. */
const CLAIM_PATH = /^[\x21-\x7e]{1,256}$/;

/** The JWKS URL: http(s), no credentials. */
function readJwksUrl(r: Reader): string | undefined {
  const value = r.optional('JWT_JWKS_URL');
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
    r.problems.push(`JWT_JWKS_URL must be an http(s) URL without credentials (got "${value}")`);
    return undefined;
  }
  return url.href;
}

/** JWT_ALGORITHMS, or its default: JWT_ALGORITHM with a secret, plus the common asymmetric ones with a JWKS. */
function readAlgorithms(r: Reader, hmac: JwtAlgorithm, secret: boolean, jwks: boolean): JwtAlgorithm[] {
  const listed = r.list('JWT_ALGORITHMS');
  if (listed.length === 0) return [...(secret ? [hmac] : []), ...(jwks ? DEFAULT_JWKS_ALGORITHMS : [])];
  const algorithms: JwtAlgorithm[] = [];
  for (const value of listed) {
    const algorithm = JWT_ALGORITHMS.find((a) => a === value);
    if (!algorithm) {
      r.problems.push(`JWT_ALGORITHMS must list algorithms among ${JWT_ALGORITHMS.join(', ')} (got "${value}")`);
    } else if (HMAC_ALGORITHMS.has(algorithm) && !secret) {
      r.problems.push(`JWT_ALGORITHMS lists ${algorithm}, which needs JWT_SECRET`);
    } else if (!HMAC_ALGORITHMS.has(algorithm) && !jwks) {
      r.problems.push(`JWT_ALGORITHMS lists ${algorithm}, which needs JWT_JWKS_URL`);
    } else if (!algorithms.includes(algorithm)) algorithms.push(algorithm);
  }
  return algorithms;
}

/** A list of claim paths (JWT_USER_CLAIMS, JWT_ADMIN_CLAIMS) or one (JWT_ROLES_CLAIM, JWT_GROUPS_CLAIM). */
function claimPaths(r: Reader, key: ConfigKey): string[] {
  const paths = r.list(key);
  for (const path of paths)
    if (!CLAIM_PATH.test(path)) r.problems.push(`${key} must name claims without spaces, at most 256 characters each`);
  if (paths.length > 8) r.problems.push(`${key} may name at most 8 claims`);
  return paths;
}

function readClaims(r: Reader): ClaimsConfig {
  const one = (key: ConfigKey): string => {
    const paths = claimPaths(r, key);
    if (paths.length !== 1) r.problems.push(`${key} must name one claim`);
    return paths[0] ?? CONFIG_DEFAULTS[key];
  };
  const adminRole = r.optional('JWT_ADMIN_ROLE');
  if (adminRole !== undefined && adminRole.length > 256) r.problems.push('JWT_ADMIN_ROLE must be at most 256 characters');
  return {
    user: claimPaths(r, 'JWT_USER_CLAIMS'),
    adminFlags: claimPaths(r, 'JWT_ADMIN_CLAIMS'),
    roles: one('JWT_ROLES_CLAIM'),
    adminRole,
    groups: one('JWT_GROUPS_CLAIM'),
  };
}

/** Reads and validates the configuration; throws ConfigError listing every bad value. */
export function loadConfig(env: Env): AppConfig {
  const r = new Reader(env);
  const mcpClientAuthEnabled = r.bool('MCP_CLIENT_AUTH_ENABLED');
  const jwtSecret = r.optional('JWT_SECRET');
  const jwtAlgorithm = r.oneOf('JWT_ALGORITHM', ['HS256', 'HS384', 'HS512'] as const, false);
  const jwksUrl = readJwksUrl(r);
  const jwtAudience = r.optional('JWT_AUDIENCE');
  const publicUrl = r.origin('PUBLIC_URL');
  // With a JWKS and no JWT_AUDIENCE, the gateway is the resource its PUBLIC_URL names (RFC 8707).
  const resourceAudiences = jwtAudience === undefined && jwksUrl !== undefined && publicUrl !== undefined;
  const config: AppConfig = {
    port: r.int('PORT', 0, 65535),
    host: r.raw('HOST'),
    logLevel: r.oneOf('LOG_LEVEL', ['error', 'warn', 'info', 'debug'] as const),
    logFormat: r.oneOf('LOG_FORMAT', ['json', 'pretty'] as const),
    auth: {
      required: r.bool('AUTH_REQUIRED') || mcpClientAuthEnabled,
      mcpClientAuthEnabled,
      jwtSecret,
      jwtAlgorithm,
      algorithms: readAlgorithms(r, jwtAlgorithm, jwtSecret !== undefined, jwksUrl !== undefined),
      jwksUrl,
      jwksRefreshMs: r.int('JWT_JWKS_REFRESH_MS', 10_000, 86_400_000),
      jwksCooldownMs: r.int('JWT_JWKS_COOLDOWN_MS', 1000, 3_600_000),
      jwtIssuer: r.optional('JWT_ISSUER'),
      jwtAudience,
      audiences: resourceAudiences ? [publicUrl] : r.list('JWT_AUDIENCE'),
      resourceAudiences,
      claims: readClaims(r),
      allowQueryToken: r.bool('ALLOW_QUERY_TOKEN'),
      trustProxyAuth: r.bool('TRUST_PROXY_AUTH'),
      proxyUserHeader: r.raw('PROXY_USER_HEADER').toLowerCase(),
      trustedProxies: r.cidrs('TRUSTED_PROXIES'),
    },
    publicUrl,
    allowedHosts: r.list('ALLOWED_HOSTS').map((h) => h.toLowerCase()),
    limits: {
      maxJsonDepth: r.int('MAX_JSON_DEPTH', 2, 10_000),
    },
    http: {
      headersTimeoutMs: r.int('HTTP_HEADERS_TIMEOUT_MS', 100),
      requestTimeoutMs: r.int('HTTP_REQUEST_TIMEOUT_MS', 100),
      keepAliveTimeoutMs: r.int('HTTP_KEEPALIVE_TIMEOUT_MS', 100),
      maxConnections: r.int('HTTP_MAX_CONNECTIONS', 1),
      streamMaxBufferedBytes: r.int('STREAM_MAX_BUFFERED_BYTES', 16 * 1024),
    },
    shutdown: {
      graceMs: r.int('SHUTDOWN_GRACE_MS', 0),
    },
    tunnel: {
      maxFrameBytes: r.int('MAX_FRAME_BYTES', 1024, 256 * 1024 * 1024),
      maxSessionsPerUser: r.int('MAX_SESSIONS_PER_USER', 1),
      maxPendingPerSession: r.int('MAX_PENDING_PER_SESSION', 1),
      pingIntervalMs: r.int('PING_INTERVAL_MS', 100),
      idleTimeoutMs: r.int('IDLE_TIMEOUT_MS', 200),
      handshakeTimeoutMs: r.int('HANDSHAKE_TIMEOUT_MS', 100),
      maxBufferedBytes: r.int('TUNNEL_MAX_BUFFERED_BYTES', 16 * 1024),
      stuckTimeoutMs: r.int('TUNNEL_STUCK_TIMEOUT_MS', 100),
      resumeGraceMs: r.int('TUNNEL_RESUME_GRACE_MS', 0, 3_600_000),
      resumeBufferBytes: r.int('TUNNEL_RESUME_BUFFER_BYTES', 16 * 1024),
      tokenWarnMs: r.int('TUNNEL_TOKEN_WARN_MS', 0, 86_400_000),
      expiry: r.oneOf('TUNNEL_EXPIRY', ['close', 'ignore'] as const),
    },
    requests: {
      defaultTimeoutMs: r.int('REQUEST_TIMEOUT_MS', 10),
      maxBodyBytes: r.int('MAX_BODY_BYTES', 1024),
    },
    sse: {
      keepaliveMs: r.int('SSE_KEEPALIVE_MS', 100),
      maxBacklog: r.int('SSE_MAX_BACKLOG', 1),
    },
    mcp: {
      sessionIdleTimeoutMs: r.int('MCP_SESSION_IDLE_TIMEOUT_MS', 1000),
      maxSessions: r.int('MCP_MAX_SESSIONS', 1),
      eventStoreMaxEvents: r.int('MCP_EVENT_STORE_MAX_EVENTS', 10, 1_000_000),
      eventStoreMaxBytes: r.int('MCP_EVENT_STORE_MAX_BYTES', 1024),
      eventStoreTotalBytes: r.int('MCP_EVENT_STORE_TOTAL_BYTES', 1024),
      answerWaitMs: r.int('MCP_ANSWER_WAIT_MS', 0, 60_000),
      maxSessionsPerUser: r.int('MCP_MAX_SESSIONS_PER_USER', 1),
      allowedOrigins: r.list('MCP_ALLOWED_ORIGINS'),
    },
    cluster: readCluster(r),
    metrics: { token: r.optional('METRICS_TOKEN') },
    oauth: readOAuth(r),
    console: { enabled: r.bool('CONSOLE_ENABLED'), oauthClientId: r.optional('CONSOLE_OAUTH_CLIENT_ID') },
  };
  if (config.auth.required && !config.auth.jwtSecret && !config.auth.jwksUrl) {
    r.problems.push(
      'JWT_SECRET is required while authentication is on (AUTH_REQUIRED=true or MCP_CLIENT_AUTH_ENABLED=true), unless JWT_JWKS_URL is set',
    );
  }
  if (config.auth.jwksUrl && !config.auth.jwtIssuer) {
    r.problems.push("JWT_ISSUER is required with JWT_JWKS_URL: the identity provider's issuer, checked on every token");
  }
  if (config.auth.jwksUrl && config.auth.audiences.length === 0) {
    r.problems.push('JWT_AUDIENCE or PUBLIC_URL is required with JWT_JWKS_URL: a token minted for another service must be refused');
  }
  if (config.auth.jwtSecret && config.auth.jwtSecret.length < 16) {
    r.problems.push('JWT_SECRET must be at least 16 characters');
  }
  if (config.auth.trustProxyAuth && config.auth.trustedProxies.length === 0) {
    r.problems.push('TRUSTED_PROXIES must list the proxy addresses (IPs or CIDR ranges) while TRUST_PROXY_AUTH=true');
  }
  if (config.metrics.token !== undefined && !/^[\x21-\x7e]{16,}$/.test(config.metrics.token)) {
    r.problems.push('METRICS_TOKEN must be at least 16 printable characters, without spaces');
  }
  if (config.oauth && !config.publicUrl) {
    r.problems.push(
      'PUBLIC_URL is required with OAUTH_AUTHORIZATION_SERVERS: it is the resource identifier clients ask tokens for (e.g. https://mcp.example.com)',
    );
  }
  if (config.oauth && !config.auth.required) {
    r.problems.push('OAUTH_AUTHORIZATION_SERVERS needs authentication on (AUTH_REQUIRED=true or MCP_CLIENT_AUTH_ENABLED=true)');
  }
  const consoleClientId = config.console.oauthClientId;
  if (consoleClientId !== undefined && !CLIENT_ID.test(consoleClientId)) {
    r.problems.push('CONSOLE_OAUTH_CLIENT_ID must be a client id of at most 255 printable characters, without spaces');
  }
  if (consoleClientId !== undefined && !config.oauth) {
    r.problems.push('CONSOLE_OAUTH_CLIENT_ID needs OAUTH_AUTHORIZATION_SERVERS: the console signs in at the first of them');
  }
  if (config.tunnel.idleTimeoutMs <= config.tunnel.pingIntervalMs) {
    r.problems.push('IDLE_TIMEOUT_MS must be longer than PING_INTERVAL_MS');
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
