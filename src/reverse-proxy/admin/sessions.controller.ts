import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  type MessageEvent,
  Post,
  Put,
  Query,
  Req,
  Res,
  Sse,
  UseGuards,
} from '@nestjs/common';
import { SSE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import {
  ApiAcceptedResponse,
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { Authenticated } from '../../auth/authenticated.decorator.js';
import { CurrentPrincipal } from '../../auth/current-principal.decorator.js';
import { ErrorResponseDto } from '../../auth/error-response.dto.js';
import { AccessAudit } from '../../auth/access-audit.js';
import type { AccessRules } from '../../auth/access-rules.js';
import type { Principal, Role } from '../../auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { JsonRpcResponse } from '../../protocol/json-rpc.js';
import { AccessRulesPipe } from './access-rules.pipe.js';
import { CurrentRole, CurrentSession } from './current-session.decorator.js';
import { ACCESS_RULES_EXAMPLES, AccessRulesDto, SessionAccessDto } from './dto/access-rules.dto.js';
import { JsonRpcMessageDto, SEND_MESSAGE_ANSWER_EXAMPLE, SEND_MESSAGE_EXAMPLES } from './dto/json-rpc-message.dto.js';
import { SendRequestQueryDto } from './dto/send-request-query.dto.js';
import { DisconnectResultDto, SentResultDto } from './dto/session-result.dto.js';
import { SessionStatsDto } from './dto/session-stats.dto.js';
import { SessionDto, SessionListDto } from './dto/session.dto.js';
import { OwnershipGuard, SessionAccess } from './ownership.guard.js';
import { ParseJsonRpcMessagePipe, type RestMessage } from './parse-json-rpc-message.pipe.js';
import { RestCaller, type RestCancelRefusal } from './rest-caller.js';
import { SendRequestQueryPipe } from './send-request-query.pipe.js';
import { SessionRegistry } from '../tunnel/session-registry.js';
import { sessionRole } from '../tunnel/session-access.js';
import { sessionListStream } from './session-list-stream.js';
import { SessionStatsReader } from './session-stats-reader.js';
import { sessionStream } from './session-stream.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** Admin API over tunnel sessions: list, inspect, disconnect, send a message, stream events. */
@ApiTags('reverse-proxy')
@Controller('reverse-proxy')
@Authenticated()
export class SessionsController {
  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
    private readonly audit: AccessAudit,
    private readonly stats: SessionStatsReader,
  ) {
    // The bytes of events that may wait for an SSE client that does not read before Nest drops it
    // (backstop to SSE_MAX_BACKLOG): STREAM_MAX_BUFFERED_BYTES, like every streamed response. @Sse
    // options are static, so the configured value is set here, before Nest reads it to register the routes.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the methods are only the metadata's targets, never called from here
    for (const route of [SessionsController.prototype.stream, SessionsController.prototype.listStream]) {
      Reflect.defineMetadata(SSE_OPTIONS_METADATA, { maxPendingDataLength: config.http.streamMaxBufferedBytes }, route);
    }
  }

  /** Lists sessions: admins see all, others their own, those shared with them and anonymous ones, each with the caller's role. */
  @Get('sessions')
  @ApiOperation({ summary: 'List tunnel sessions the caller may use, with its role on each (the access rules for owner and admins)' })
  @ApiOkResponse({ type: SessionListDto })
  list(@CurrentPrincipal() principal: Principal): SessionListDto {
    const sessions: SessionDto[] = [];
    for (const session of this.registry.list()) {
      const role = sessionRole(session, principal);
      if (role) sessions.push(SessionDto.from(session, role));
    }
    return { sessions, total: sessions.length };
  }

  /** One session's details. */
  @Get('sessions/:id')
  @UseGuards(OwnershipGuard)
  @SessionAccess('use', 'details')
  @ApiOperation({ summary: "Show one session's details (owner, admins, and users it is shared with)" })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiOkResponse({ type: SessionDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Not authorized for this session', type: ErrorResponseDto })
  get(@CurrentSession() session: SessionHandle, @CurrentRole() role: Role): SessionDto {
    return SessionDto.from(session, role);
  }

  /** Calls per 10 s over the last 10 minutes, with errors and p50/p99 latency: from the tunnel here, or from the replica holding it. */
  @Get('sessions/:id/stats')
  @UseGuards(OwnershipGuard)
  @SessionAccess('use', 'details')
  @ApiOperation({
    summary:
      "A session's calls over the last 10 minutes: calls, errors and p50/p99 latency per 10 s (owner, admins, users it is shared with)",
    description:
      'Every call sent down the tunnel that expects an answer counts, from every door (REST, MCP Streamable HTTP, legacy SSE, stateless, other replicas). An error is a call that failed (timeout, tunnel closed, cancelled, busy) or was answered with a JSON-RPC error. Latency runs from sending down the tunnel to the answer. In cluster mode the replica holding the tunnel answers.',
  })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiOkResponse({ type: SessionStatsDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Not authorized for this session', type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({
    description: '(Cluster mode) the replica holding the tunnel cannot be reached.',
    type: ErrorResponseDto,
  })
  callStats(@CurrentSession() session: SessionHandle, @CurrentPrincipal() principal: Principal): Promise<SessionStatsDto> {
    return this.stats.read(session, principal);
  }

  /** Closes the tunnel; calls in flight on it fail at once. */
  @Delete('sessions/:id')
  @UseGuards(OwnershipGuard)
  @SessionAccess('manage', 'disconnect')
  @ApiOperation({ summary: 'Disconnect a tunnel (owner or admin)' })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiOkResponse({ type: DisconnectResultDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Not authorized for this session', type: ErrorResponseDto })
  disconnect(@CurrentSession() session: SessionHandle): DisconnectResultDto {
    session.close('disconnected by API');
    return { status: 'disconnected', session_id: session.id };
  }

  /** Who besides the owner may use the session's server. */
  @Get('sessions/:id/access')
  @UseGuards(OwnershipGuard)
  @SessionAccess('manage', 'access')
  @ApiOperation({ summary: "Show a session's access rules: who besides the owner may use its server (owner or admin)" })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiOkResponse({ type: SessionAccessDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({
    description: 'Not authorized for this session (only the owner and admins see the rules)',
    type: ErrorResponseDto,
  })
  access(@CurrentSession() session: SessionHandle): SessionAccessDto {
    return accessOf(session);
  }

  /**
   * Replaces the access rules: later requests of every door are judged by them (an MCP session of a
   * user no longer named is refused at its next request). Logged in the access audit.
   */
  @Put('sessions/:id/access')
  @UseGuards(OwnershipGuard)
  @SessionAccess('manage', 'access')
  @ApiOperation({
    summary: "Replace a session's access rules (owner or admin)",
    description:
      'Fields left out mean none: {} shares with nobody. Users are owner keys (token sub, else email); groups are matched against the groups claim.',
  })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiBody({ type: AccessRulesDto, examples: ACCESS_RULES_EXAMPLES })
  @ApiOkResponse({ type: SessionAccessDto })
  @ApiBadRequestResponse({ description: 'The body is not valid access rules (the problem is named).', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({
    description: 'Not authorized for this session (only the owner and admins change the rules)',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description:
      'The session was opened without authentication (open to everyone, no rules), or (cluster mode) its tunnel is held by another replica, where its rules live.',
    type: ErrorResponseDto,
  })
  setAccess(
    @CurrentSession() session: SessionHandle,
    @CurrentPrincipal() principal: Principal,
    @Body(AccessRulesPipe) rules: AccessRules,
  ): SessionAccessDto {
    if (session.owner === null) throw new ConflictException('This session was opened without authentication: it is open to everyone');
    if (!this.registry.share(session, rules)) {
      throw new ConflictException('This tunnel is held by another replica; its access rules cannot be changed here');
    }
    this.audit.rulesChanged(principal.user, { session: session.id, server: session.name }, rules.toJSON(), 'rest');
    return accessOf(session);
  }

  /**
   * Sends a JSON-RPC message down the tunnel. A request waits for its answer (the caller's id is
   * restored); a notification, an answer to a server request, or ?wait=false returns 202 at once.
   * Calls are made as the user's RestCaller: progress tokens are rewritten (progress reaches the SSE
   * stream with the caller's own token) and notifications/cancelled may name only the user's own calls.
   * A call that gets no answer throws its CallError: HttpExceptionFilter answers it with the status
   * CALL_FAILURES (call-error.ts) gives its reason.
   */
  @Post('sessions/:id/request')
  @HttpCode(200)
  @UseGuards(OwnershipGuard)
  @SessionAccess('use', 'rest')
  @ApiOperation({ summary: 'Send a JSON-RPC message to the tunnelled server and get the answer' })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiBody({ type: JsonRpcMessageDto, examples: SEND_MESSAGE_EXAMPLES })
  @ApiOkResponse({
    description: "The server's JSON-RPC response, with the caller's id.",
    type: JsonRpcMessageDto,
    example: SEND_MESSAGE_ANSWER_EXAMPLE,
  })
  @ApiAcceptedResponse({ type: SentResultDto })
  @ApiBadRequestResponse({
    description:
      'The body is not one JSON-RPC message, a query option is invalid, or a notifications/cancelled names no request of the caller in flight.',
    type: ErrorResponseDto,
  })
  @ApiServiceUnavailableResponse({
    description: 'Too many requests in flight on this session, the tunnel is not reading, or the gateway is shutting down.',
    type: ErrorResponseDto,
  })
  @ApiGatewayTimeoutResponse({
    description: 'No answer within the timeout; the server was sent notifications/cancelled.',
    type: ErrorResponseDto,
  })
  @ApiBadGatewayResponse({ description: 'The tunnel closed before answering.', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Not authorized for this session', type: ErrorResponseDto })
  async send(
    @CurrentSession() session: SessionHandle,
    @CurrentPrincipal() principal: Principal,
    @Body(ParseJsonRpcMessagePipe) body: RestMessage,
    @Query(SendRequestQueryPipe) query: SendRequestQueryDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<JsonRpcResponse | SentResultDto> {
    const sent: SentResultDto = { status: 'sent', session_id: session.id };
    const caller = new RestCaller(session, principal);
    if (body.kind === 'notification' && body.message.method === 'notifications/cancelled') {
      const refused = caller.cancel(body.message);
      if (refused) throw new BadRequestException(CANCEL_REFUSALS[refused]);
      res.status(202);
      return sent;
    }
    if (body.kind !== 'request') {
      session.forward(body.message);
      res.status(202);
      return sent;
    }
    const defaultTimeout = this.config.requests.defaultTimeoutMs;
    const timeoutMs = Math.min(query.timeout_ms ?? defaultTimeout, defaultTimeout);
    const answer = this.metrics.timeCall('rest', () => caller.call(body.message, timeoutMs));
    if (query.wait === false) {
      // The answer reaches SSE subscribers as a `response` event.
      answer.catch(() => undefined);
      res.status(202);
      return sent;
    }
    return answer;
  }

  /** Streams the list of sessions the caller may see: a snapshot, then sessions added, updated and removed. */
  @Sse('sse')
  @ApiOperation({
    summary: 'Stream the list of sessions the caller may use (who sees what as for GET /reverse-proxy/sessions)',
    description:
      'Events: snapshot {sessions: Session[]} first; then added (Session) when a session appears or is shared with the caller, updated (Session) when its state changes (registered, ready, suspended, resumed) or its access rules are replaced, removed {session_id} when it closes or is no longer shared with the caller; keepalive {timestamp}. Counters (messages, bytes, calls in flight) are not pushed: read them from GET /reverse-proxy/sessions. A client that does not keep up gets dropped {reason} and the stream ends.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream' })
  listStream(@CurrentPrincipal() principal: Principal, @Req() req: FastifyRequest): Observable<MessageEvent> {
    const socket = req.raw.socket;
    return sessionListStream(this.registry, principal, {
      keepaliveMs: this.config.sse.keepaliveMs,
      maxBacklog: this.config.sse.maxBacklog,
      isBackedUp: () => socket.writableNeedDrain,
    });
  }

  /** Streams the session's events as Server-Sent Events until it closes. */
  @Sse('sse/:id')
  @UseGuards(OwnershipGuard)
  @SessionAccess('manage', 'sse')
  @ApiOperation({
    summary: "Stream a session's events (owner or admin)",
    description:
      "Every caller's answers travel on this stream, so only the owner and admins may follow it; users the server is shared with get 403. Events: connected {sessionId, serverInfo}, then call (a request a caller sent down the tunnel, with the caller's own id) and response / notification / request (JSON-RPC payloads from the server), keepalive {timestamp}, and closed {sessionId, reason} last; a client that does not keep up gets dropped {sessionId, reason} and the stream ends.",
  })
  @ApiParam({ name: 'id', description: 'Session id' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream' })
  @ApiNotFoundResponse({ description: 'Session <id> not found', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Not authorized for this session', type: ErrorResponseDto })
  stream(@CurrentSession() session: SessionHandle, @Req() req: FastifyRequest): Observable<MessageEvent> {
    // Nest writes the stream straight to the connection, so its socket tells when the client lags.
    const socket = req.raw.socket;
    return sessionStream(session, {
      keepaliveMs: this.config.sse.keepaliveMs,
      maxBacklog: this.config.sse.maxBacklog,
      isBackedUp: () => socket.writableNeedDrain,
    });
  }
}

/** The access rules of a session as the API answers them. */
function accessOf(session: SessionHandle): SessionAccessDto {
  const rules = session.access?.toJSON() ?? { users: [], groups: [], everyone: false };
  return { session_id: session.id, name: session.name, owner: session.owner, ...rules };
}

/** What a REST caller is told when its notifications/cancelled is refused. */
const CANCEL_REFUSALS: Record<RestCancelRefusal, string> = {
  'no-request-id': 'notifications/cancelled needs params.requestId, the id of your request to cancel',
  'not-yours': 'No request of yours with that requestId is in flight on this session',
};
