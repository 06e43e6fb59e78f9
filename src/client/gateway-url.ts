/**
 * Turns what a user types for `--gateway` into the tunnel's WebSocket URL. Gateways often sit
 * behind a reverse proxy under a path prefix (https://example.com/mcp-gateway), so the prefix is
 * kept and the tunnel path appended to it; http(s) becomes ws(s).
 */
import { TUNNEL_PATH, TUNNEL_PATH_ALIAS } from '../protocol/envelopes.js';

const SCHEMES: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };

export class GatewayUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUrlError';
  }
}

/** `host[:port][/path]` typed without a scheme (`new URL` would read `localhost:3000` as scheme `localhost:`). */
const SCHEMELESS = /^(?:localhost|\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d+)?(?:\/\S*)?$/i;

export function tunnelUrl(gateway: string): URL {
  const given = gateway.trim();
  if (!given.includes('://') && SCHEMELESS.test(given)) {
    throw new GatewayUrlError(
      `The gateway URL "${given}" has no scheme: use http://${given} (or https://${given} for a gateway behind TLS)`,
    );
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new GatewayUrlError(`Not a URL: "${gateway}" (expected e.g. https://gateway.example.com or ws://localhost:3000)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) {
    throw new GatewayUrlError(`The gateway URL must start with http://, https://, ws:// or wss:// (got "${url.protocol}")`);
  }
  url.protocol = scheme;
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(TUNNEL_PATH)) {
    url.pathname = path;
  } else if (path.endsWith(TUNNEL_PATH_ALIAS)) {
    url.pathname = `${path}/ws`;
  } else {
    url.pathname = `${path}${TUNNEL_PATH}`;
  }
  return url;
}

/** The URL as it may be printed: no credentials, no query (either may carry a secret). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
