import { Injectable, Logger } from '@nestjs/common';
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import { jsonRpcErrorResponse } from './http/mcp-http-replies.js';
import { watchBody } from './http/web-exchange.js';
import type { McpClientSession } from './sessions/mcp-client-session.js';
import { McpSessionOpener } from './sessions/mcp-session-opener.service.js';
import { SharedSessionState } from './sessions/shared-session-state.service.js';
import { STATELESS_REVISION, StatelessMcpDoor } from './stateless/stateless-mcp-door.service.js';

const SESSION_HEADER = 'mcp-session-id';
const SESSION_ID_REQUIRED = 'Bad Request: Mcp-Session-Id header is required';

/**
 * The rules of `/servers/:name/mcp` on a web Request, answered with a web Response: finds or opens
 * the client's session, or hands 2026-07-28 traffic to the stateless door. The controller serves
 * it to local clients; in cluster mode the replica holding the tunnel serves it for requests that
 * entered another replica (the exchange relay), so sessions live next to their tunnel. Refusals
 * before a transport is involved (404, 403, the session caps) are thrown as HttpExceptions.
 */
@Injectable()
export class StreamableHttpDoor {
  private readonly logger = new Logger('StreamableHttp');

  constructor(
    private readonly opener: McpSessionOpener,
    private readonly stateless: StatelessMcpDoor,
    private readonly shared: SharedSessionState,
  ) {}

  /** Serves one request (POST with its parsed `body`, GET, DELETE) of `principal` on server `name`. */
  async serve(name: string, principal: Principal, request: Request, body: unknown): Promise<Response> {
    const headers = request.headers;
    const sessionId = headers.get(SESSION_HEADER) ?? undefined;
    if (request.method === 'POST' && sessionId === undefined) {
      // Which era is this request? The SDK's own routing rule (body-first: a per-request `_meta` envelope claim).
      const era = classifyInboundRequest({
        httpMethod: 'POST',
        protocolVersionHeader: headers.get('mcp-protocol-version') ?? undefined,
        mcpMethodHeader: headers.get('mcp-method') ?? undefined,
        mcpNameHeader: headers.get('mcp-name') ?? undefined,
        body,
      });
      if (era.kind !== 'legacy') {
        // 2026-07-28 (or a request claiming it that breaks its rules: the SDK answers those).
        return this.stateless.serve(this.opener.reachable(name, principal), principal, request, body);
      }
      if (!isInitialize(body)) return jsonRpcErrorResponse(400, -32000, SESSION_ID_REQUIRED);
      const { session, transport } = this.opener.openStreamableHttp(name, principal);
      const response = await this.handle(session, request, body);
      // A refused initialize (bad Accept, malformed) leaves a transport with no session: drop it.
      if (transport.sessionId === undefined) await session.close();
      return response;
    }
    if (sessionId === undefined && request.method !== 'POST' && headers.get('mcp-protocol-version') === STATELESS_REVISION) {
      // The stateless revision has no session stream to open and no session to end.
      return jsonRpcErrorResponse(405, -32000, 'Method Not Allowed: the 2026-07-28 revision uses POST only', { Allow: 'POST' });
    }
    if (sessionId === undefined) return jsonRpcErrorResponse(400, -32000, SESSION_ID_REQUIRED);
    // In cluster mode a session this replica does not hold may be adopted (its tunnel moved here).
    const session =
      this.opener.find(sessionId, name, principal, 'streamable-http') ?? (await this.opener.adopt(sessionId, name, principal));
    if (!session) return jsonRpcErrorResponse(404, -32001, 'Session not found');
    return this.handle(session, withoutUnknownLastEventId(session, request), body);
  }

  private async handle(session: McpClientSession, request: Request, body: unknown): Promise<Response> {
    session.beginExchange();
    this.shared.touch(session);
    const isPost = request.method === 'POST';
    let response: Response;
    try {
      const transport = session.transport as WebStandardStreamableHTTPServerTransport;
      response = await transport.handleRequest(request, { parsedBody: isPost ? body : undefined });
    } catch (err) {
      session.endExchange();
      this.logger.error({ msg: 'Streamable HTTP request failed', sessionId: session.id, error: String(err) });
      return jsonRpcErrorResponse(500, -32603, 'Internal error');
    }
    return watchBody(response, (complete) => {
      session.endExchange();
      // A POST's stream that reached the client whole will not be resumed: the events kept for it can
      // go. A cut-off or broken exchange keeps them.
      if (complete && isPost) session.answersDelivered(requestIdsOf(body));
    });
  }
}

/**
 * A GET resuming from an event the replica that held the session before gave out (its tunnel moved
 * here, cluster mode) opens a fresh stream instead of failing: those events stayed there. An expired
 * event of this replica's is still refused (400), as the SDK does.
 */
function withoutUnknownLastEventId(session: McpClientSession, request: Request): Request {
  const lastEventId = request.headers.get('last-event-id');
  if (request.method !== 'GET' || lastEventId === null || !session.isForeignEvent(lastEventId)) return request;
  const headers = new Headers(request.headers);
  headers.delete('last-event-id');
  return new Request(request.url, { method: 'GET', headers, signal: request.signal });
}

/** The ids of the requests in a POST body (one message or a batch). */
function requestIdsOf(body: unknown): (string | number)[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: (string | number)[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || typeof (m as { method?: unknown }).method !== 'string') continue;
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
}
