/** Entries of an `aud` claim looked at, at most (a token is hostile input). */
export const MAX_AUDIENCES = 32;

/** A server's resource identifier (RFC 8707, the MCP authorization spec): the URL of its Streamable HTTP door. */
export function serverResource(publicUrl: string, server: string): string {
  return `${publicUrl}/servers/${encodeURIComponent(server)}/mcp`;
}

/** The rules a token's `aud` is held to (from config.auth). */
export interface AudienceRules {
  /** Audiences accepted on every door; empty: not checked. */
  audiences: readonly string[];
  /** The public URL, when a server's resource identifier is accepted on that server's doors. */
  resourceBase: string | undefined;
}

/**
 * Where a verified token may be used, by its audience: `all` (one of the gateway's audiences, or no
 * check), the servers whose resource identifier it names (their doors only), or `none`.
 */
export type AudienceScope = 'all' | 'none' | ReadonlySet<string>;

/** The scope a token's `aud` claim (a string or an array of strings) gives under these rules. */
export function audienceScope(aud: unknown, rules: AudienceRules): AudienceScope {
  if (rules.audiences.length === 0) return 'all';
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.slice(0, MAX_AUDIENCES) : [];
  const servers = new Set<string>();
  for (const entry of list) {
    if (typeof entry !== 'string') continue;
    const value = entry.endsWith('/') ? entry.slice(0, -1) : entry;
    if (rules.audiences.includes(value) || rules.audiences.includes(entry)) return 'all';
    const server = rules.resourceBase === undefined ? undefined : serverOfResource(value, rules.resourceBase);
    if (server !== undefined) servers.add(server);
  }
  return servers.size > 0 ? servers : 'none';
}

/** Whether a token of this scope may be used on the request path (the raw request URL). */
export function scopeAllows(scope: AudienceScope, url: string | undefined): boolean {
  if (scope === 'all') return true;
  if (scope === 'none') return false;
  const server = serverOfPath(url);
  return server !== undefined && scope.has(server);
}

const SERVER_PATH = /^\/servers\/([^/?#]+)\//;

/** The server a request path is for (`/servers/<name>/mcp`, `/sse`, `/messages`), decoded as the router decodes it. */
function serverOfPath(url: string | undefined): string | undefined {
  const segment = url === undefined ? undefined : SERVER_PATH.exec(url)?.[1];
  return segment === undefined ? undefined : decode(segment);
}

/** A server's doors that are resources of their own: Streamable HTTP and the legacy SSE stream. */
const RESOURCE_DOORS = ['/mcp', '/sse'] as const;

/** The server named by `<base>/servers/<name>/mcp` (or `/sse`), if `value` is one. */
function serverOfResource(value: string, base: string): string | undefined {
  const prefix = `${base}/servers/`;
  const door = RESOURCE_DOORS.find((suffix) => value.endsWith(suffix));
  if (!value.startsWith(prefix) || door === undefined) return undefined;
  const segment = value.slice(prefix.length, -door.length);
  return segment === '' || segment.includes('/') ? undefined : decode(segment);
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
