import { Controller, Delete, Get, Inject, type OnModuleInit, Optional, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
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
import { JsonRpcErrorResponseDto } from './http/json-rpc-error-response.dto.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { holdResponseWrites } from './http/hold-response-writes.js';
import { HostGuard } from './http/host.guard.js';
import { OriginGuard } from './http/origin.guard.js';
import type { StreamLimits } from './http/slow-reader.js';
import { abortOnEarlyClose, toWebRequest, webRequestOf, writeWebResponse } from './http/web-exchange.js';
import { DirectAnswers } from './direct-answers.service.js';
import { StreamableHttpDoor } from './streamable-http-door.service.js';
import { ExchangeRelay } from '../reverse-proxy/cluster/exchange-relay.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';
import { relayedPrincipal } from '../reverse-proxy/cluster/relay-envelope.js';

/** How long the transport's POST answers are held in their socket so that a quick one leaves in one write. */
const HOLD_WRITES_MS = 20;
/** The exchange relay's name for this door. */
export const STREAMABLE_HTTP_DOOR = 'streamable-http';
/** Request headers the door and the SDK read; only these travel to another replica (never credentials). */
const RELAYED_HEADERS = [
  'accept',
  'content-type',
  'host',
  'origin',
  'last-event-id',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
];

/**
 * `/servers/:name/mcp`: the MCP Streamable HTTP transport. The rules live in `StreamableHttpDoor`
 * (web Request in, web Response out); this controller hands it the Node request and writes its
 * answer through the bounded writer. In cluster mode, a request for a server whose tunnel another
 * replica holds is relayed there (`ExchangeRelay`), so an MCP session lives next to its tunnel and
 * any replica can take any of its requests.
 */
@ApiTags('mcp')
@ApiForbiddenResponse({
  description: 'Host or Origin not allowed (DNS-rebinding protection), or the server belongs to another user.',
  type: JsonRpcErrorResponseDto,
})
@ApiParam({ name: 'name', description: 'Server name given at register' })
@Controller('servers/:name/mcp')
@Authenticated()
// Applied before @Authenticated() (bottom up), so these guards run ahead of its JwtAuthGuard.
@UseGuards(HostGuard, OriginGuard)
export class StreamableHttpController implements OnModuleInit {
  /** How far a client's stream may fall behind before it is cut off. */
  private readonly streamLimits: StreamLimits;

  constructor(
    private readonly door: StreamableHttpDoor,
    private readonly direct: DirectAnswers,
    private readonly registry: SessionRegistry,
    @Optional() @Inject(ExchangeRelay) private readonly exchanges: ExchangeRelay | null,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.streamLimits = { maxBufferedBytes: config.http.streamMaxBufferedBytes, maxBacklog: config.sse.maxBacklog };
  }

  onModuleInit(): void {
    // Cluster mode: requests for tunnels held here that entered another replica are served here, by the same door.
    this.exchanges?.serveWith(STREAMABLE_HTTP_DOOR, (relayed, signal) =>
      this.door.serve(relayed.name, relayed.principal, webRequestOf(relayed.method, relayed.url, relayed.headers, signal), relayed.body),
    );
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
  @ApiNotFoundResponse({ description: 'Unknown server, or unknown/expired session (re-initialize).', type: JsonRpcErrorResponseDto })
  @ApiBadRequestResponse({
    description:
      'Mcp-Session-Id missing on a non-initialize 2025-era request, or a transport rule broken (2026-07-28: Mcp-Method / Mcp-Name disagreeing with the body, missing envelope, unsupported revision).',
    type: JsonRpcErrorResponseDto,
  })
  async post(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.serve(name, principal, request.raw, reply.raw, request.body);
  }

  @Get()
  @ApiOperation({ summary: "Open the session's server-to-client SSE stream (Last-Event-ID resumes a stream)" })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream: notifications for the whole session, or the replay of a resumed stream.' })
  @ApiNotFoundResponse({ description: 'Unknown or expired session.', type: JsonRpcErrorResponseDto })
  @ApiMethodNotAllowedResponse({
    description: 'No Mcp-Session-Id and MCP-Protocol-Version 2026-07-28: that revision uses POST only.',
    type: JsonRpcErrorResponseDto,
  })
  async get(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.serve(name, principal, req.raw, reply.raw, undefined);
  }

  @Delete()
  @ApiOperation({ summary: 'End the session; its requests in flight are cancelled at the server' })
  @ApiOkResponse({ description: 'The session is over.' })
  @ApiNotFoundResponse({ description: 'Unknown or expired session.', type: JsonRpcErrorResponseDto })
  @ApiMethodNotAllowedResponse({
    description: 'No Mcp-Session-Id and MCP-Protocol-Version 2026-07-28: that revision uses POST only.',
    type: JsonRpcErrorResponseDto,
  })
  async delete(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.serve(name, principal, req.raw, reply.raw, undefined);
  }

  /**
   * Answers one request: by the door here, or, in cluster mode when another replica holds the
   * server's tunnel, by the door there (its response streamed back). Either way the response is
   * written through the same bounded writer.
   */
  private async serve(name: string, principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const tunnel = this.registry.readyByName(name);
    const home = tunnel && this.exchanges ? this.registry.remoteReplicaOf(tunnel) : undefined;
    // The common exchange (one request in a session held here) skips the SDK's transport.
    if (home === undefined && this.direct.serve(name, principal, req, res, body)) return;
    // The SDK writes a POST's SSE answer in pieces: hold them so that a quick one leaves in one write.
    if (req.method === 'POST') holdResponseWrites(res, HOLD_WRITES_MS);
    const early = abortOnEarlyClose(res);
    try {
      const response =
        home === undefined || !this.exchanges
          ? await this.door.serve(name, principal, toWebRequest(req, early.signal), body)
          : await this.exchanges.forward(home, {
              door: STREAMABLE_HTTP_DOOR,
              name,
              principal: relayedPrincipal(principal),
              method: req.method ?? 'GET',
              url: req.url ?? '/',
              headers: relayedHeaders(req),
              ...(req.method === 'POST' ? { body } : {}),
            });
      await writeWebResponse(response, res, this.streamLimits);
    } finally {
      early.settle();
    }
  }
}

/** The request headers another replica's door needs, as name/value pairs. */
function relayedHeaders(req: IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name of RELAYED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') pairs.push([name, value]);
  }
  return pairs;
}
