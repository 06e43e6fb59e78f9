import { Controller, Get, Inject, Logger, type OnModuleInit, Optional, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticated } from '../auth/authenticated.decorator.js';
import { JsonRpcErrorResponseDto } from './http/json-rpc-error-response.dto.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { HostGuard } from './http/host.guard.js';
import { jsonRpcErrorResponse, replySessionNotFound } from './http/mcp-http-replies.js';
import { McpSessionOpener } from './sessions/mcp-session-opener.service.js';
import { OriginGuard } from './http/origin.guard.js';
import { guardResponseWrites } from './http/slow-reader.js';
import { writeWebResponse } from './http/web-exchange.js';
import { ExchangeRelay } from '../reverse-proxy/cluster/exchange-relay.js';
import { relayedPrincipal, type RelayedExchangeRequest } from '../reverse-proxy/cluster/relay-envelope.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';

/** The exchange relay's name for a legacy message POST that entered another replica than its stream's. */
export const LEGACY_MESSAGES_DOOR = 'legacy-messages';
/** A replica id as REPLICA_ID allows it; anything else in `?replica=` names no replica. */
const REPLICA_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05) for old clients: GET `/servers/:name/sse` holds
 * the session's event stream and announces `/servers/:name/messages?sessionId=…` for POSTs.
 * The session ends when the stream closes.
 */
@ApiTags('mcp')
@ApiForbiddenResponse({
  description: 'Host or Origin not allowed (DNS-rebinding protection), or the server belongs to another user.',
  type: JsonRpcErrorResponseDto,
})
@ApiParam({ name: 'name', description: 'Server name given at register' })
@Controller('servers/:name')
@Authenticated()
// Applied before @Authenticated() (bottom up), so these guards run ahead of its JwtAuthGuard.
@UseGuards(HostGuard, OriginGuard)
export class LegacySseController implements OnModuleInit {
  private readonly logger = new Logger('LegacySse');

  constructor(
    private readonly opener: McpSessionOpener,
    private readonly registry: SessionRegistry,
    @Optional() @Inject(ExchangeRelay) private readonly exchanges: ExchangeRelay | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Cluster mode: a message for a stream held here that entered another replica.
    this.exchanges?.serveWith(LEGACY_MESSAGES_DOOR, (relayed) => this.relayedMessage(relayed));
  }

  @Get('sse')
  @ApiOperation({ summary: 'Open a legacy HTTP+SSE session (first event: `endpoint`)' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream: `endpoint` first, then `message` events carrying JSON-RPC messages.' })
  @ApiNotFoundResponse({ description: 'Unknown server.', type: JsonRpcErrorResponseDto })
  async open(@Param('name') name: string, @CurrentPrincipal() principal: Principal, @Res() reply: FastifyReply): Promise<void> {
    // The SDK transport writes the stream to the Node response itself.
    reply.hijack();
    const res = reply.raw;
    const { session, transport } = this.opener.openLegacySse(name, principal, res);
    // The SDK transport writes each message straight to the response, whether the client reads or
    // not: past the limits the stream is cut off, which ends the session (its close handler).
    guardResponseWrites(res, { maxBufferedBytes: this.config.http.streamMaxBufferedBytes, maxBacklog: this.config.sse.maxBacklog }, () =>
      this.logger.warn({ msg: 'Legacy SSE client not reading, cutting its stream off', sessionId: session.id }),
    );
    session.beginExchange();
    // Proxies such as nginx would otherwise buffer the stream; the SDK transport does not set it.
    res.setHeader('X-Accel-Buffering', 'no');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), this.config.sse.keepaliveMs);
    res.once('close', () => {
      clearInterval(keepalive);
      session.endExchange();
    });
    await transport.start();
  }

  @Post('messages')
  @ApiOperation({ summary: 'Send a JSON-RPC message to a legacy SSE session (answers arrive on its stream)' })
  @ApiQuery({ name: 'sessionId', description: 'From the `endpoint` event' })
  @ApiAcceptedResponse({ description: "Accepted; the answer arrives on the session's stream." })
  @ApiNotFoundResponse({ description: 'Unknown or ended session.', type: JsonRpcErrorResponseDto })
  async message(
    @Param('name') name: string,
    @Query('sessionId') sessionId: string | undefined,
    @Query('replica') replica: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    if (this.exchanges && typeof replica === 'string' && replica !== this.config.cluster?.replicaId) {
      // The stream is held by another replica (or by one that is gone, and the session with it).
      if (!REPLICA_ID.test(replica) || !this.registry.isLiveReplica(replica)) return replySessionNotFound(res);
      const response = await this.exchanges.forward(replica, {
        door: LEGACY_MESSAGES_DOOR,
        name,
        principal: relayedPrincipal(principal),
        method: 'POST',
        url: req.url,
        headers: [],
        body: req.body,
      });
      await writeWebResponse(response, res, { maxBufferedBytes: this.config.http.streamMaxBufferedBytes, maxBacklog: 1 });
      return;
    }
    const session = typeof sessionId === 'string' ? this.opener.find(sessionId, name, principal, 'sse') : undefined;
    if (!session) return replySessionNotFound(res);
    session.touch();
    try {
      await (session.transport as SSEServerTransport).handlePostMessage(req.raw, res, req.body);
    } catch (err) {
      // The SDK has answered already (its stream was gone); nothing else to send.
      this.logger.debug({ msg: 'Legacy SSE message refused', sessionId: session.id, error: String(err) });
    }
  }

  /** A message relayed from another replica for a session whose stream is held here; answered like handlePostMessage. */
  private async relayedMessage(relayed: RelayedExchangeRequest): Promise<Response> {
    const sessionId = new URL(relayed.url, 'http://localhost').searchParams.get('sessionId');
    const session = sessionId === null ? undefined : this.opener.find(sessionId, relayed.name, relayed.principal, 'sse');
    if (!session) return jsonRpcErrorResponse(404, -32001, 'Session not found');
    session.touch();
    try {
      await (session.transport as SSEServerTransport).handleMessage(relayed.body);
    } catch {
      return new Response('Invalid message', { status: 400 });
    }
    return new Response('Accepted', { status: 202 });
  }
}
