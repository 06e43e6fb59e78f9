import { isIP } from 'node:net';
import type { AppConfig } from '../config/app-config.js';
import { TUNNEL_PATH } from '../protocol/envelopes.js';
import { isLoopbackHost } from './exposure-warning.js';

/** What the start-up block says: as fields (one JSON log record) and as text (a block for a terminal). */
export interface StartupBanner {
  fields: Record<string, string>;
  text: string;
}

/** What the banner is built from besides the configuration: the bound port and the `.env` file read, if any. */
export interface StartupFacts {
  name: string;
  version: string;
  port: number;
  envFile: string | undefined;
}

/**
 * The block printed once the gateway listens: where it listens, the API docs, the console, the tunnel endpoint,
 * the MCP URL pattern, the auth mode and how to mint a token. Links use PUBLIC_URL when set, else
 * the bound address (a wildcard address shown as localhost).
 */
export function startupBanner(config: AppConfig, facts: StartupFacts): StartupBanner {
  const base = config.publicUrl ?? `http://${urlHost(displayHost(config.host))}:${facts.port}`;
  const fields: Record<string, string> = {
    listening: `http://${urlHost(config.host)}:${facts.port}`,
    docs: `${base}/docs`,
    ...(config.console.enabled ? { console: `${base}/console` } : {}),
    tunnel: `${base.replace(/^http/, 'ws')}${TUNNEL_PATH}`,
    mcp: `${base}/servers/<name>/mcp`,
    auth: authMode(config),
    token: tokenHint(config),
    // Where MCP clients that log in themselves start (README "Log in with an identity provider").
    ...(config.oauth ? { login: `${base}/.well-known/oauth-protected-resource` } : {}),
    ...(facts.envFile ? { settings: `environment, then ${facts.envFile}` } : {}),
  };
  const rows: [string, string][] = [
    ['API docs', fields.docs],
    ...(fields.console ? [['Console', fields.console] as [string, string]] : []),
    ['Tunnel', `${fields.tunnel}  (mcp-tunnel --gateway ${base.replace(/^http/, 'ws')})`],
    ['MCP servers', `${fields.mcp}  (legacy SSE: …/sse)`],
    ['Auth', fields.auth],
    ['Token', fields.token],
    ...(config.oauth ? [['Log in', `${fields.login}  (${config.oauth.authorizationServers.join(', ')})`] as [string, string]] : []),
    ...(fields.settings ? [['Settings', fields.settings] as [string, string]] : []),
  ];
  const text = [
    `${facts.name} ${facts.version} is listening on ${fields.listening}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(12)} ${value}`),
  ].join('\n');
  return { fields: { msg: 'Gateway listening', ...fields }, text: `${text}\n` };
}

function authMode(config: AppConfig): string {
  const { auth } = config;
  if (!auth.required) {
    const open = isLoopbackHost(config.host) ? 'this machine only' : 'OPEN TO THE NETWORK: set AUTH_REQUIRED=true';
    return `off: callers without a token are anonymous (${open})`;
  }
  const proxy =
    auth.trustProxyAuth && !auth.mcpClientAuthEnabled ? `, or ${auth.proxyUserHeader} from ${auth.trustedProxies.join(', ')}` : '';
  const query = auth.allowQueryToken ? ' (or ?token=)' : '';
  return `required: Authorization: Bearer <JWT, ${auth.algorithms.join('/')}>${query}${proxy}`;
}

function tokenHint(config: AppConfig): string {
  if (!config.auth.jwtSecret)
    return config.auth.jwksUrl ? 'from your identity provider (JWT_JWKS_URL)' : 'none needed (auth off, no JWT_SECRET)';
  return 'npm run token -- --sub you@example.com [--admin] [--exp 1h]  (same JWT_SECRET)';
}

/** A wildcard bind address is reached as localhost. */
function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host;
}

/** An IPv6 literal goes in brackets in a URL. */
function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
