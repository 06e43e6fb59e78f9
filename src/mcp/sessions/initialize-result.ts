import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { RegisteredServer } from '../../protocol/envelopes.js';

/**
 * Capabilities the gateway does not pass on: `tasks` would let one client poll or cancel another
 * client's tasks, since task ids are shared by everyone on the server.
 */
const WITHHELD_CAPABILITIES = ['tasks'];

/** The client's version when the gateway speaks it, else the newest the gateway speaks (the client then decides). */
export function negotiateProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/**
 * The gateway's answer to a client's `initialize`, built from what the tunnel registered: the
 * local server was initialized once by its tunnel and never sees a client's handshake.
 */
export function initializeResult(server: RegisteredServer, requestedVersion: unknown): Record<string, unknown> {
  const capabilities = { ...(server.capabilities ?? {}) };
  for (const key of WITHHELD_CAPABILITIES) delete capabilities[key];
  const reported = server.serverInfo ?? {};
  const serverInfo: Record<string, unknown> = {
    ...reported,
    name: typeof reported.name === 'string' ? reported.name : server.name,
    version: typeof reported.version === 'string' ? reported.version : (server.version ?? '0.0.0'),
  };
  if (serverInfo.title === undefined && server.title) serverInfo.title = server.title;
  return {
    protocolVersion: negotiateProtocolVersion(requestedVersion),
    capabilities,
    serverInfo,
    ...(server.instructions ? { instructions: server.instructions } : {}),
  };
}
