import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { JsonRpcId } from '../protocol/json-rpc.js';
import { DirectExchange, type DirectExchangeLimits } from './http/direct-exchange.js';
import { replyJsonRpcError } from './http/mcp-http-replies.js';
import { McpSessionBridge } from './sessions/mcp-session-bridge.service.js';
import { McpSessionOpener } from './sessions/mcp-session-opener.service.js';
import { SharedSessionState } from './sessions/shared-session-state.service.js';
import { isPlainRequest } from './http/plain-request.js';
import { AcceptedEnvelopes, directStatelessRoute } from './stateless/direct-route.js';
import { StatelessMcpDoor } from './stateless/stateless-mcp-door.service.js';

/** The first revision whose clients read priming events (and so can resume a POST's stream). */
const PRIMING_REVISION = '2025-11-25';

/**
 * The MCP door's common exchange, served at the cost of the REST door: a POST carrying one request
 * in an existing Streamable HTTP session goes straight to the session's bridge, and its answer
 * straight to the Node response (`DirectExchange`: JSON when quick, else the SSE stream the SDK
 * would have written). Only requests the SDK's transport would accept as they are take this way
 * (its header, session and message rules checked here first); anything else (initialize, batches,
 * notifications, answers, an unusual header or message) returns false and goes through the
 * transport, which applies and answers those rules itself. A GET resuming such a stream while its
 * call runs is served here too. So is the stateless revision's common exchange: a 2026-07-28 POST of
 * one relayed request that the SDK's entry would take as it is (`directStatelessRoute`).
 */
@Injectable()
export class DirectAnswers {
  private readonly limits: DirectExchangeLimits;
  private readonly envelopes = new AcceptedEnvelopes();
  private streams = 0;

  constructor(
    private readonly opener: McpSessionOpener,
    private readonly bridge: McpSessionBridge,
    private readonly shared: SharedSessionState,
    private readonly stateless: StatelessMcpDoor,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limits = {
      maxBufferedBytes: config.http.streamMaxBufferedBytes,
      maxBacklog: config.sse.maxBacklog,
      answerWaitMs: config.mcp.answerWaitMs,
      keepaliveMs: config.sse.keepaliveMs,
    };
  }

  /**
   * Serves `req` on `res` when it is a POST of one request in an existing session of `principal`'s on
   * server `name`, a GET resuming such a request's stream, or a stateless POST the SDK would take as
   * it is; false (nothing written) otherwise. Throws the door's refusals (404, 403) like the SDK path.
   */
  serve(name: string, principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): boolean {
    const headers = req.headers;
    const sessionId = headers['mcp-session-id'];
    if (sessionId === undefined && req.method === 'POST') return this.statelessPost(name, principal, headers, res, body);
    if (typeof sessionId !== 'string' || !supportedVersion(headers)) return false;
    if (req.method === 'POST') return this.post(name, principal, sessionId, headers, res, body);
    if (req.method === 'GET') return this.resume(name, principal, sessionId, headers, res);
    return false;
  }

  private post(
    name: string,
    principal: Principal,
    sessionId: string,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    body: unknown,
  ): boolean {
    if (!isPlainRequest(body) || !isJson(headers['content-type']) || !accepts(headers, 'application/json')) return false;
    if (!accepts(headers, 'text/event-stream')) return false;
    const session = this.opener.find(sessionId, name, principal, 'streamable-http');
    if (!session?.initialized) return false;
    const requestId: JsonRpcId = body.id;
    if (session.isRouted(requestId)) {
      // JSON-RPC ids are unique among a session's requests in flight; two answers could not be told apart.
      replyJsonRpcError(res, 400, -32600, 'Invalid Request: a request with this id is already in flight in this session');
      return true;
    }
    const version = (headers['mcp-protocol-version'] as string | undefined) ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    const log = session.eventLog;
    const exchange: DirectExchange = new DirectExchange(res, {
      sessionId,
      requestId,
      streamId: `direct-${++this.streams}`,
      priming: log !== undefined && version >= PRIMING_REVISION,
      log,
      limits: this.limits,
      onEnd: () => {
        session.unroute(requestId, exchange);
        session.endExchange();
      },
    });
    session.route(requestId, exchange);
    session.beginExchange();
    this.shared.touch(session);
    this.bridge.receive(session, body);
    return true;
  }

  private statelessPost(name: string, principal: Principal, headers: IncomingHttpHeaders, res: ServerResponse, body: unknown): boolean {
    const route = directStatelessRoute(headers, body, this.envelopes);
    if (!route) return false;
    this.stateless.serveDirect(this.opener.reachable(name, principal), principal, res, route);
    return true;
  }

  /** A GET with `Last-Event-ID` of a stream served here whose call still runs: the rest of it, on this response. */
  private resume(name: string, principal: Principal, sessionId: string, headers: IncomingHttpHeaders, res: ServerResponse): boolean {
    const lastEventId = headers['last-event-id'];
    if (typeof lastEventId !== 'string' || !accepts(headers, 'text/event-stream')) return false;
    const session = this.opener.find(sessionId, name, principal, 'streamable-http');
    const route = session?.routeOfEvent(lastEventId);
    if (!(route instanceof DirectExchange)) return false;
    if (route.isAttached) {
      replyJsonRpcError(res, 409, -32000, 'Conflict: Stream already has an active connection');
      return true;
    }
    route.resume(res, lastEventId);
    return true;
  }
}

/** `application/json`, bare or with parameters, as clients send it; any other spelling is left to the transport's own parser. */
function isJson(contentType: string | undefined): boolean {
  return contentType === 'application/json' || contentType?.startsWith('application/json;') === true;
}

/** Whether the Accept header names `type` (a substring check, as the SDK's transport makes it). */
function accepts(headers: IncomingHttpHeaders, type: string): boolean {
  return headers.accept?.includes(type) === true;
}

/** An absent MCP-Protocol-Version, or one the SDK's transport supports (else it answers 400 itself). */
function supportedVersion(headers: IncomingHttpHeaders): boolean {
  const version = headers['mcp-protocol-version'];
  return version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
}
