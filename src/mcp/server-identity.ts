import { isObject } from '../protocol/json-rpc.js';
import type { SessionHandle } from '../reverse-proxy/tunnel/tunnel-handle.js';

/**
 * What an MCP client relies on after initialize: who runs the server and what it can do. A tunnel
 * re-registering under the same name with the same identity keeps the name's client sessions.
 */
export interface ServerIdentity {
  owner: string | null;
  /** The registered capabilities, serialized with sorted keys. */
  capabilities: string;
}

export function serverIdentityOf(tunnel: SessionHandle): ServerIdentity {
  return { owner: tunnel.owner, capabilities: canonicalJson(tunnel.server?.capabilities ?? {}) };
}

export function sameServerIdentity(a: ServerIdentity, b: ServerIdentity): boolean {
  return a.owner === b.owner && a.capabilities === b.capabilities;
}

/** JSON with object keys sorted, so equal objects serialize equally. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
