import type { ServerResponse } from 'node:http';

/**
 * HTTP answers the MCP doors give before a transport is involved, shaped like the SDK's own
 * (a JSON-RPC error without id), so MCP clients read them the same way.
 */
export function replyJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/** Unknown, expired or someone else's session: clients start a new one on 404. */
export function replySessionNotFound(res: ServerResponse): void {
  replyJsonRpcError(res, 404, -32001, 'Session not found');
}
