import type { Server } from 'node:http';
import type { AppConfig } from '../config/app-config.js';

/** How often Node looks for requests past their headers/request timeout, at most (its default, 30 s, would let a 1 s limit run 31 s). */
const MAX_CHECK_INTERVAL_MS = 1000;

/**
 * Applies the HTTP timeouts and the connection cap to the Node server, before it listens.
 * `headersTimeout` and `requestTimeout` run from the first byte of a request until it has been
 * received in full, so they cut a slow sender but never a long response (SSE streams, MCP GET
 * streams) nor an upgraded WebSocket: those requests were complete long before.
 */
export function applyHttpLimits(server: Server, http: AppConfig['http']): void {
  // Node checks the two timeouts together; a headers limit above the whole-request one would never fire.
  server.headersTimeout = Math.min(http.headersTimeoutMs, http.requestTimeoutMs);
  server.requestTimeout = http.requestTimeoutMs;
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  server.maxConnections = http.maxConnections;
  // Read by Node when the server starts listening (setupConnectionsTracking).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(server.headersTimeout / 4)),
  );
}
