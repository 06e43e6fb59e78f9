import type { ServerResponse } from 'node:http';

/**
 * Whether a matched Fastify route pattern is an MCP door (`/servers/:name/mcp`, `/servers/:name/sse`,
 * `/servers/:name/messages`): every error answered there is JSON-RPC shaped (`jsonRpcErrorBody`),
 * those of the doors themselves and those HttpExceptionFilter answers for them (guards, unknown server,
 * session caps, body errors). The catalog (`/servers`) is not one.
 */
export function isMcpDoorRoute(route: string | undefined): boolean {
  return route !== undefined && route.startsWith('/servers/:name/');
}

/** The error body of the MCP doors, shaped like the SDK transports' own (a JSON-RPC error without id). */
export function jsonRpcErrorBody(code: number, message: string) {
  return { jsonrpc: '2.0' as const, error: { code, message }, id: null };
}

/**
 * HTTP answers the MCP doors give before a transport is involved, shaped like the SDK's own
 * (a JSON-RPC error without id), so MCP clients read them the same way.
 */
export function replyJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  const body = JSON.stringify(jsonRpcErrorBody(code, message));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/** Unknown, expired or someone else's session: clients start a new one on 404. */
export function replySessionNotFound(res: ServerResponse): void {
  replyJsonRpcError(res, 404, -32001, 'Session not found');
}

/** replyJsonRpcError as a web Response, for the doors that answer with one (a relayed exchange, the SDK's transports). */
export function jsonRpcErrorResponse(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json(jsonRpcErrorBody(code, message), { status, headers });
}
