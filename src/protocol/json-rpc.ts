/**
 * JSON-RPC 2.0 message shapes and guards shared by the gateway and the tunnel client.
 * Pure functions only: no Nest, no I/O.
 */

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown> | unknown[];
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown> | unknown[];
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: unknown;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type JsonRpcKind = 'request' | 'notification' | 'response';

/** Standard and gateway-specific JSON-RPC error codes. */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The call waited longer than its timeout. */
  RequestTimeout: -32001,
  /** The tunnel carrying the call closed before the answer came. */
  TunnelClosed: -32002,
  /** The tunnel has too many calls in flight. */
  TunnelBusy: -32003,
} as const;

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for a string or finite number, the id types JSON-RPC allows for matching. */
export function isJsonRpcId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Tells what a JSON-RPC message is, or undefined when it is none.
 * Lenient on `jsonrpc` because some stdio servers omit it; strict on the fields routing depends on.
 */
export function classifyJsonRpc(message: unknown): JsonRpcKind | undefined {
  if (!isObject(message)) return undefined;
  const hasMethod = typeof message.method === 'string';
  if (hasMethod) {
    if (message.params !== undefined && typeof message.params !== 'object') return undefined;
    if (!('id' in message) || message.id === undefined) return 'notification';
    return isJsonRpcId(message.id) ? 'request' : undefined;
  }
  if ('result' in message || isObject(message.error)) {
    return isJsonRpcId(message.id) || message.id === null ? 'response' : undefined;
  }
  return undefined;
}

export function isJsonRpcRequest(message: unknown): message is JsonRpcRequest {
  return classifyJsonRpc(message) === 'request';
}

export function isJsonRpcNotification(message: unknown): message is JsonRpcNotification {
  return classifyJsonRpc(message) === 'notification';
}

export function isJsonRpcResponse(message: unknown): message is JsonRpcResponse {
  return classifyJsonRpc(message) === 'response';
}

/** Builds a JSON-RPC error response. */
export function jsonRpcError(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcFailure {
  const error: JsonRpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}
