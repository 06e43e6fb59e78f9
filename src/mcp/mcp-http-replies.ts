import type { Response } from 'express';

/**
 * HTTP answers the MCP doors give before a transport is involved, shaped like the SDK's own
 * (a JSON-RPC error without id), so MCP clients read them the same way.
 */
export function replyJsonRpcError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/** Unknown, expired or someone else's session: clients start a new one on 404. */
export function replySessionNotFound(res: Response): void {
  replyJsonRpcError(res, 404, -32001, 'Session not found');
}
