import type { JsonRpcRequest } from '../../protocol/json-rpc.js';

/** The keys a JSON-RPC request may have (the SDK's schema is strict). */
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/** A JSON-RPC request the SDK's message schema accepts as it is (else the transport decides), other than initialize. */
export function isPlainRequest(body: unknown): body is JsonRpcRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const message = body as Record<string, unknown>;
  for (const key in message) if (!REQUEST_KEYS.has(key)) return false;
  const { id, method, params } = message;
  if (message.jsonrpc !== '2.0' || typeof method !== 'string' || method === 'initialize') return false;
  if (typeof id !== 'string' && !Number.isInteger(id)) return false;
  if (params === undefined) return true;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return false;
  const meta = (params as Record<string, unknown>)._meta;
  if (meta === undefined) return true;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return false;
  const { progressToken } = meta as Record<string, unknown>;
  const tokenOk = progressToken === undefined || typeof progressToken === 'string' || Number.isInteger(progressToken);
  // The task key has a schema of its own: leave such requests to the transport.
  return tokenOk && !('io.modelcontextprotocol/related-task' in meta);
}
