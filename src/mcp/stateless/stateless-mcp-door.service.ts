import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  ProtocolError,
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type InputRequiredResult,
  type JSONRPCRequest,
  type McpHttpHandler,
  type McpRequestContext,
  type Notification,
  type ServerContext,
  type ServerEvent,
} from '@modelcontextprotocol/server';
import type { Subscription } from 'rxjs';
import type { Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import {
  JsonRpcErrorCode,
  jsonRpcError,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../protocol/json-rpc.js';
import { CALL_FAILURES, CallError, type CallFailure } from '../../reverse-proxy/tunnel/call-error.js';
import { SessionRegistry } from '../../reverse-proxy/tunnel/session-registry.js';
import type { TunnelHandle } from '../../reverse-proxy/tunnel/tunnel-handle.js';
import { initializeResult } from '../sessions/initialize-result.js';
import { ServerCatalog } from '../catalog/server-catalog.service.js';
import { StatelessCaller } from './stateless-caller.js';
import { watchBody } from '../http/web-exchange.js';
import { STATELESS_REVISION, type DirectStatelessRoute } from './direct-route.js';
import { ExchangeTransport } from './exchange-transport.js';
import { StatelessExchange, type StatelessExchangeLimits } from './stateless-exchange.js';

export { STATELESS_REVISION };

/** What the door hands its SDK servers with each request (through `authInfo.extra`, the SDK's pass-through). */
interface StatelessRequestContext {
  tunnel: TunnelHandle;
  principal: Principal;
  /** A direct exchange's: calls `cancel` once if its client leaves before the answer (else the SDK's request signal says so). */
  onGone?: (cancel: () => void) => void;
}

/** The one SDK server of a name answering its direct exchanges, and the registration it was built from. */
interface SharedServer {
  name: string;
  server: Server;
  transport: ExchangeTransport;
  registered: TunnelHandle['server'];
  /** Replaced or its name gone: it closes once its last request has its answer. */
  retired: boolean;
}

interface HandlerEntry {
  handler: McpHttpHandler;
  /** Requests being answered (listen streams not counted); a retired handler closes when none is left. */
  active: number;
  retired: boolean;
}

/**
 * The stateless 2026-07-28 revision of `/servers/:name/mcp`. The SDK's `createMcpHandler` (strict,
 * `legacy: 'reject'`; 2025-era traffic never reaches it) applies the revision's rules: protocol
 * version and `_meta` envelope checks, `Mcp-Method` / `Mcp-Name` against the body, required client
 * capabilities, `resultType` stamping, per-request JSON or SSE answers, `subscriptions/listen`.
 * Each request gets a throw-away SDK `Server` that answers `server/discover` from what the tunnel
 * registered and relays everything else through the tunnel's one correlation table.
 *
 * The handler's web `Response` is written by the Streamable HTTP door (`writeWebResponse`), not by the SDK's
 * `toNodeHandler`: that adapter waits for 'drain' while the SDK's streams (a `subscriptions/listen`
 * stream, an SSE answer) keep enqueueing whatever they are given, so for a client that stopped
 * reading the backlog grew without limit in a queue nothing could see. Read as it is produced, the
 * backlog waits in the Node response instead, where STREAM_MAX_BUFFERED_BYTES and SSE_MAX_BACKLOG
 * bound it and cut the client off, as on the 2025 doors.
 */
@Injectable()
export class StatelessMcpDoor implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('McpStateless');
  /** One SDK handler per server name: its `subscriptions/listen` bus carries that name's changes only. */
  private readonly handlers = new Map<string, HandlerEntry>();
  /** One shared server per name for the direct exchanges. */
  private readonly shared = new Map<string, SharedServer>();
  private readonly exchangeLimits: StatelessExchangeLimits;
  private changes: Subscription | undefined;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly catalog: ServerCatalog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
  ) {
    this.exchangeLimits = {
      maxBufferedBytes: config.http.streamMaxBufferedBytes,
      maxBacklog: config.sse.maxBacklog,
      keepaliveMs: config.sse.keepaliveMs,
    };
  }

  onModuleInit(): void {
    // A name nobody serves any more drops its handler (and its listen streams): state stays bounded.
    this.changes = this.registry.changes$.subscribe((change) => {
      const name = change.session.name;
      if (change.type === 'removed' && name !== undefined && !this.registry.byName(name)) void this.drop(name);
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.changes?.unsubscribe();
    const shared = [...this.shared.values()];
    this.shared.clear();
    await Promise.all([
      ...[...this.handlers.keys()].map((name) => this.drop(name, true)),
      ...shared.map((entry) => entry.server.close().catch(() => undefined)),
    ]);
  }

  /**
   * Serves one POST that `directStatelessRoute` admitted, for a caller already allowed to reach
   * `tunnel`, straight on the Node response: the name's shared SDK server takes the request (the same
   * relay as `serve`'s per-request servers, the same SDK rules and encoding) and `StatelessExchange`
   * writes what it says, as the SDK's per-request transport would.
   */
  serveDirect(tunnel: TunnelHandle, principal: Principal, res: ServerResponse, route: DirectStatelessRoute): void {
    const shared = this.sharedServerFor(tunnel);
    const exchange = new StatelessExchange(res, { requestId: route.message.id, limits: this.exchangeLimits });
    const context: StatelessRequestContext = { tunnel, principal, onGone: (cancel) => exchange.onGone(cancel) };
    shared.transport.deliver(route.message, route.classification, authInfoOf(context), exchange);
  }

  /**
   * Serves one 2026-era POST (its parsed `body`) for a caller already allowed to reach `tunnel`, as
   * a web Response; `request.signal` aborting means the client left before the answer was over.
   */
  async serve(tunnel: TunnelHandle, principal: Principal, request: Request, body: unknown): Promise<Response> {
    const authInfo = authInfoOf({ tunnel, principal });
    const entry = this.handlerFor(tunnel.name);
    const counted = (body as { method?: unknown } | undefined)?.method !== 'subscriptions/listen';
    if (counted) entry.active++;
    let response: Response;
    try {
      response = await entry.handler.fetch(request, { authInfo, parsedBody: body });
    } catch (error) {
      // Only a closed handler throws (the gateway is shutting down).
      this.logger.debug({ msg: 'Stateless MCP request failed', server: tunnel.name, error: String(error) });
      response = Response.json(
        { jsonrpc: '2.0', error: { code: JsonRpcErrorCode.InternalError, message: 'Internal error' }, id: requestIdOf(body) },
        { status: 500 },
      );
    }
    // The request is over when its answer has been read to the end or given up.
    return watchBody(response, () => {
      if (counted) entry.active--;
      if (entry.retired && entry.active === 0) void this.close(entry);
    });
  }

  /** A server change for the name's `subscriptions/listen` streams. */
  publish(name: string, notification: JsonRpcNotification): void {
    const entry = this.handlers.get(name);
    if (!entry) return;
    const event = serverEventOf(notification);
    if (event) entry.handler.bus.publish(event);
  }

  private handlerFor(name: string): HandlerEntry {
    let entry = this.handlers.get(name);
    if (!entry) {
      const handler = createMcpHandler((ctx) => this.serverFor(ctx), {
        legacy: 'reject',
        keepAliveMs: this.config.sse.keepaliveMs,
        maxSubscriptions: this.config.mcp.maxSessions,
        onerror: (error) => this.logger.debug({ msg: 'Stateless MCP request refused or failed', server: name, error: error.message }),
      });
      entry = { handler, active: 0, retired: false };
      this.handlers.set(name, entry);
    }
    return entry;
  }

  /**
   * Retires a name's handler: new requests get a fresh one; it closes (ending its listen streams)
   * once the requests it is answering have had their answers, e.g. the error of a dropped tunnel.
   */
  private async drop(name: string, now = false): Promise<void> {
    const shared = this.shared.get(name);
    if (shared) this.retire(shared);
    const entry = this.handlers.get(name);
    if (!entry) return;
    this.handlers.delete(name);
    entry.retired = true;
    if (now || entry.active === 0) await this.close(entry);
  }

  private async close(entry: HandlerEntry): Promise<void> {
    await entry.handler.close().catch(() => undefined);
  }

  /**
   * The name's shared server, built anew when the tunnel behind the name registered something else
   * (the old one retires). Connected to an ExchangeTransport, which binds it to the revision.
   */
  private sharedServerFor(tunnel: TunnelHandle): SharedServer {
    const name = tunnel.name;
    const current = this.shared.get(name);
    if (current?.registered === tunnel.server) return current;
    if (current) this.retire(current);
    const server = this.serverOf(tunnel, [...SUPPORTED_PROTOCOL_VERSIONS, STATELESS_REVISION]);
    server.onerror = (error) => this.logger.debug({ msg: 'Stateless MCP request refused or failed', server: name, error: error.message });
    const transport = new ExchangeTransport({ era: 'modern', revision: STATELESS_REVISION });
    const shared: SharedServer = { name, server, transport, registered: tunnel.server, retired: false };
    transport.onDrained = () => {
      if (shared.retired) void server.close().catch(() => undefined);
    };
    // Connecting sets the server's message handler before its first await, so the server takes requests at once.
    void server
      .connect(transport)
      .catch((error: unknown) => this.logger.warn({ msg: 'Stateless MCP server did not connect', error: String(error) }));
    this.shared.set(name, shared);
    return shared;
  }

  private retire(shared: SharedServer): void {
    if (shared.retired) return;
    shared.retired = true;
    if (this.shared.get(shared.name) === shared) this.shared.delete(shared.name);
    if (shared.transport.inFlight === 0) void shared.server.close().catch(() => undefined);
  }

  /** The per-request SDK server of `serve`. */
  private serverFor(ctx: McpRequestContext): Server {
    return this.serverOf((ctx.authInfo?.extra as { gateway: StatelessRequestContext }).gateway.tunnel);
  }

  /**
   * An SDK server with the tunnel's registered identity, relaying every method it does not answer
   * itself; the caller and tunnel of each request come with the request.
   */
  private serverOf(tunnel: TunnelHandle, supportedProtocolVersions?: string[]): Server {
    const registered = initializeResult(tunnel.server, STATELESS_REVISION);
    const server = new Server(registered.serverInfo as { name: string; version: string }, {
      capabilities: registered.capabilities as Record<string, unknown>,
      ...(typeof registered.instructions === 'string' ? { instructions: registered.instructions } : {}),
      ...(supportedProtocolVersions ? { supportedProtocolVersions } : {}),
    });
    server.fallbackRequestHandler = (request, handlerCtx) => this.relay(contextOf(handlerCtx), request, handlerCtx);
    // 2026-era clients send no notification the server needs (cancelling is closing the stream).
    server.fallbackNotificationHandler = async () => undefined;
    return server;
  }

  private async relay(context: StatelessRequestContext, request: JSONRPCRequest, ctx: ServerContext): Promise<Record<string, unknown>> {
    const { tunnel, principal } = context;
    const state = ctx.mcpReq.requestState();
    if (typeof state === 'string') return this.resume(context, request, ctx, state);
    if (!tunnel.isOpen) {
      throw protocolErrorFor('closed', `Server "${tunnel.name}" is not connected to the gateway`);
    }
    const capabilities = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY];
    const caller = new StatelessCaller(
      { user: principal.user, isAdmin: principal.isAdmin, via: principal.via, groups: principal.groups },
      request.method,
      (capabilities ?? {}) as Record<string, unknown>,
    );
    // The envelope and any MRTR fields were lifted out by the SDK; what remains of _meta (a progress token) goes down.
    const meta = ctx.mcpReq._meta;
    const params = { ...(request.params ?? {}), ...(meta && Object.keys(meta).length > 0 ? { _meta: meta } : {}) };
    const forwarded: JsonRpcRequest = { jsonrpc: '2.0', id: request.id, method: request.method, params };
    let answer: Promise<JsonRpcResponse>;
    try {
      answer = this.metrics.timeCall('mcp', () => tunnel.call(forwarded, this.config.requests.defaultTimeoutMs, caller));
    } catch (err) {
      throw toProtocolError(err);
    }
    caller.answer = answer;
    answer
      .then((response) => this.catalog.observe(tunnel, forwarded, response))
      .catch(() => undefined)
      .finally(() => {
        // Questions the client never answered must not leave the server waiting.
        for (const ask of caller.asks.splice(0)) {
          tunnel.tryForward(jsonRpcError(ask.request.id, JsonRpcErrorCode.InternalError, 'The request this input was for has ended'));
        }
      });
    return this.round(context, caller, ctx);
  }

  /** A retry carrying `requestState`: hand the client's answers to the server and wait on the same call. */
  private async resume(
    context: StatelessRequestContext,
    request: JSONRPCRequest,
    ctx: ServerContext,
    state: string,
  ): Promise<Record<string, unknown>> {
    const { tunnel, principal } = context;
    const caller = tunnel.findCaller(state);
    if (!(caller instanceof StatelessCaller) || caller.user !== principal.user || caller.method !== request.method) {
      throw new ProtocolError(JsonRpcErrorCode.InvalidParams, 'Invalid params: unknown or expired requestState');
    }
    const responses = ctx.mcpReq.inputResponses ?? {};
    for (const [key, result] of Object.entries(responses)) {
      const ask = caller.take(key);
      if (ask) tunnel.tryForward({ jsonrpc: '2.0', id: ask.request.id, result: result as Record<string, unknown> });
    }
    return this.round(context, caller, ctx);
  }

  /**
   * One round of a call: resolves with the server's result, or with `input_required` when the
   * server asks the client something first. A stream that closes before either cancels the call.
   */
  private async round(context: StatelessRequestContext, caller: StatelessCaller, ctx: ServerContext): Promise<Record<string, unknown>> {
    const tunnel = context.tunnel;
    const answer = caller.answer!;
    const exchange = { notify: (n: JsonRpcNotification) => ctx.mcpReq.notify(n as Notification) };
    caller.attach(exchange);
    // The 2026 revision's cancellation: the client closes the request's stream.
    const cancel = () => {
      if (caller.carriedBy(exchange)) tunnel.cancelCallsOf(caller.key, 'The client closed the request stream');
    };
    if (context.onGone) context.onGone(cancel);
    else if (ctx.mcpReq.signal.aborted) cancel();
    else ctx.mcpReq.signal.addEventListener('abort', cancel, { once: true });
    const outcome = await Promise.race([
      answer.then(
        (response) => ({ kind: 'answer' as const, response }),
        (error: unknown) => ({ kind: 'failed' as const, error }),
      ),
      caller.inputNeeded().then(() => ({ kind: 'input' as const })),
    ]);
    if (outcome.kind === 'input') {
      caller.park();
      const result: InputRequiredResult = {
        resultType: 'input_required',
        inputRequests: Object.fromEntries(
          caller.asks.map((ask) => [
            ask.key,
            { method: ask.request.method, ...(ask.request.params ? { params: ask.request.params } : {}) },
          ]),
        ) as InputRequiredResult['inputRequests'],
        requestState: caller.key,
      };
      return result;
    }
    if (outcome.kind === 'failed') throw toProtocolError(outcome.error);
    const response = outcome.response;
    if ('error' in response) throw new ProtocolError(response.error.code, response.error.message, response.error.data);
    return response.result as Record<string, unknown>;
  }
}

/** The door's context of a request, as `authInfo` carries it to the SDK's server (the SDK passes it through). */
function authInfoOf(context: StatelessRequestContext): AuthInfo {
  return { token: '', clientId: context.principal.user ?? 'anonymous', scopes: [], extra: { gateway: context } };
}

function contextOf(ctx: ServerContext): StatelessRequestContext {
  return (ctx.http?.authInfo?.extra as { gateway: StatelessRequestContext }).gateway;
}

/** A failed call as the stateless revision reports it: its column of the one table (call-error.ts). */
function protocolErrorFor(reason: CallFailure, message: string): ProtocolError {
  const { code, data } = CALL_FAILURES[reason].stateless;
  return new ProtocolError(code, message, data === undefined ? undefined : { ...data });
}

function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof CallError) return protocolErrorFor(err.reason, err.message);
  return new ProtocolError(JsonRpcErrorCode.InternalError, 'Internal error');
}

/** The id of a single JSON-RPC request, for an error answer; null otherwise. */
function requestIdOf(body: unknown): string | number | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function serverEventOf(notification: JsonRpcNotification): ServerEvent | undefined {
  switch (notification.method) {
    case 'notifications/tools/list_changed':
      return { kind: 'tools_list_changed' };
    case 'notifications/prompts/list_changed':
      return { kind: 'prompts_list_changed' };
    case 'notifications/resources/list_changed':
      return { kind: 'resources_list_changed' };
    case 'notifications/resources/updated': {
      const uri = (notification.params as Record<string, unknown> | undefined)?.uri;
      return typeof uri === 'string' ? { kind: 'resource_updated', uri } : undefined;
    }
    default:
      return undefined;
  }
}
