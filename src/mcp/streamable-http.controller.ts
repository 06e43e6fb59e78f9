import { Controller, Delete, Get, Inject, Logger, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiMethodNotAllowedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Authenticated } from '../auth/authenticated.decorator.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { holdResponseWrites } from './http/hold-response-writes.js';
import { HostGuard } from './http/host.guard.js';
import type { McpClientSession } from './sessions/mcp-client-session.js';
import { replyJsonRpcError, replySessionNotFound } from './http/mcp-http-replies.js';
import { McpSessionOpener } from './sessions/mcp-session-opener.service.js';
import { OriginGuard } from './http/origin.guard.js';
import type { StreamLimits } from './http/slow-reader.js';
import { toWebRequest, writeWebResponse } from './http/web-exchange.js';
import { STATELESS_REVISION, StatelessMcpDoor } from './stateless/stateless-mcp-door.service.js';
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { classifyInboundRequest } from '@modelcontextprotocol/server';

const SESSION_HEADER = 'mcp-session-id';
const SESSION_ID_REQUIRED = 'Bad Request: Mcp-Session-Id header is required';
/** How long a POST's response bytes may wait for its answer so that all leave in one write. */
const ANSWER_WAIT_MS = 20;

/**
 * `/servers/:name/mcp`: the MCP Streamable HTTP transport. Session-based revisions (2025-03-26 to
 * 2025-11-25) get one SDK transport per client session; the SDK applies the transport rules
 * (Accept, protocol version header, SSE framing, resumption) and this door finds or opens the
 * session. A POST without `Mcp-Session-Id` that the SDK classifies as 2026-07-28 traffic goes to
 * the stateless door instead, so both eras share the URL.
 */
@ApiTags('mcp')
@ApiForbiddenResponse({ description: 'Host or Origin not allowed (DNS-rebinding protection), or the server belongs to another user.' })
@ApiParam({ name: 'name', description: 'Server name given at register' })
@Controller('servers/:name/mcp')
@Authenticated()
// Applied before @Authenticated() (bottom up), so these guards run ahead of its JwtAuthGuard.
@UseGuards(HostGuard, OriginGuard)
export class StreamableHttpController {
  private readonly logger = new Logger('StreamableHttp');
  /** How far a client's stream may fall behind before it is cut off. */
  private readonly streamLimits: StreamLimits;

  constructor(
    private readonly opener: McpSessionOpener,
    private readonly stateless: StatelessMcpDoor,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.streamLimits = { maxBufferedBytes: config.http.streamMaxBufferedBytes, maxBacklog: config.sse.maxBacklog };
  }

  @Post()
  @ApiOperation({
    summary:
      'Send JSON-RPC messages (initialize opens a session; Mcp-Session-Id afterwards). A request of the stateless 2026-07-28 revision (_meta envelope, Mcp-Method / Mcp-Name headers) needs no session.',
  })
  @ApiProduces('text/event-stream', 'application/json')
  @ApiOkResponse({
    description:
      'The answers, as an SSE stream (with any progress and server requests before them); Mcp-Session-Id header after initialize.',
  })
  @ApiAcceptedResponse({ description: 'Only notifications or responses were sent.' })
  @ApiNotFoundResponse({ description: 'Unknown server, or unknown/expired session (re-initialize).' })
  @ApiBadRequestResponse({
    description:
      'Mcp-Session-Id missing on a non-initialize 2025-era request, or a transport rule broken (2026-07-28: Mcp-Method / Mcp-Name disagreeing with the body, missing envelope, unsupported revision).',
  })
  async post(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // The SDK transports write to the Node response themselves.
    reply.hijack();
    const { raw: req } = request;
    const { raw: res } = reply;
    holdResponseWrites(res, ANSWER_WAIT_MS);
    const body: unknown = request.body;
    if (header(req, SESSION_HEADER) === undefined) {
      // Which era is this request? The SDK's own routing rule (body-first: a per-request `_meta` envelope claim).
      const era = classifyInboundRequest({
        httpMethod: 'POST',
        protocolVersionHeader: header(req, 'mcp-protocol-version'),
        mcpMethodHeader: header(req, 'mcp-method'),
        mcpNameHeader: header(req, 'mcp-name'),
        body,
      });
      if (era.kind !== 'legacy') {
        // 2026-07-28 (or a request claiming it that breaks its rules: the SDK answers those).
        return this.stateless.serve(this.opener.reachable(name, principal), principal, req, res, body);
      }
      if (!isInitialize(body)) {
        return replyJsonRpcError(res, 400, -32000, SESSION_ID_REQUIRED);
      }
      const { session, transport } = this.opener.openStreamableHttp(name, principal);
      await this.handle(session, req, res, body);
      // A refused initialize (bad Accept, malformed) leaves a transport with no session: drop it.
      if (transport.sessionId === undefined) await session.close();
      return;
    }
    await this.existing(name, principal, req, res, body);
  }

  @Get()
  @ApiOperation({ summary: "Open the session's server-to-client SSE stream (Last-Event-ID resumes a stream)" })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream: notifications for the whole session, or the replay of a resumed stream.' })
  @ApiNotFoundResponse({ description: 'Unknown or expired session.' })
  @ApiMethodNotAllowedResponse({ description: 'No Mcp-Session-Id and MCP-Protocol-Version 2026-07-28: that revision uses POST only.' })
  async get(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.existing(name, principal, req.raw, reply.raw, undefined);
  }

  @Delete()
  @ApiOperation({ summary: 'End the session; its requests in flight are cancelled at the server' })
  @ApiOkResponse({ description: 'The session is over.' })
  @ApiNotFoundResponse({ description: 'Unknown or expired session.' })
  @ApiMethodNotAllowedResponse({ description: 'No Mcp-Session-Id and MCP-Protocol-Version 2026-07-28: that revision uses POST only.' })
  async delete(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.existing(name, principal, req.raw, reply.raw, undefined);
  }

  private async existing(name: string, principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = header(req, SESSION_HEADER);
    if (id === undefined && req.method !== 'POST' && header(req, 'mcp-protocol-version') === STATELESS_REVISION) {
      // The stateless revision has no session stream to open and no session to end.
      res.setHeader('Allow', 'POST');
      return replyJsonRpcError(res, 405, -32000, 'Method Not Allowed: the 2026-07-28 revision uses POST only');
    }
    if (id === undefined) return replyJsonRpcError(res, 400, -32000, SESSION_ID_REQUIRED);
    const session = this.opener.find(id, name, principal, 'streamable-http');
    if (!session) return replySessionNotFound(res);
    await this.handle(session, req, res, body);
  }

  private async handle(session: McpClientSession, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.beginExchange();
    res.once('close', () => session.endExchange());
    // A POST's stream that reached the client whole ('finish': every byte handed to the socket) will
    // not be resumed: the events kept for it can go. A cut-off or broken exchange keeps them.
    if (req.method === 'POST') res.once('finish', () => session.answersDelivered(requestIdsOf(body)));
    try {
      const transport = session.transport as WebStandardStreamableHTTPServerTransport;
      const response = await transport.handleRequest(toWebRequest(req), { parsedBody: req.method === 'POST' ? body : undefined });
      await writeWebResponse(response, res, this.streamLimits);
    } catch (err) {
      this.logger.error({ msg: 'Streamable HTTP request failed', sessionId: session.id, error: String(err) });
      replyJsonRpcError(res, 500, -32603, 'Internal error');
    }
  }
}

/** One request header as a string (the first, if repeated). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
