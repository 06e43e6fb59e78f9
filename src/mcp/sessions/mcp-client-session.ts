import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { CallerPrincipal, TunnelCaller } from '../../reverse-proxy/tunnel/call-context.js';
import { CallError, PendingCalls } from '../../reverse-proxy/tunnel/pending-calls.js';
import type { BoundedEventStore } from './bounded-event-store.js';
import { capabilityFor } from '../../protocol/server-request-capabilities.js';
import type { ServerIdentity } from '../server-identity.js';

/** Why a client session's calls and questions end when the session does. */
export const SESSION_ENDED = 'The MCP client session ended';

export type McpTransportKind = 'streamable-http' | 'sse';

/**
 * Where the messages of one request go when its POST was answered past the SDK's transport
 * (`DirectExchange`): its answer, and the progress and server requests related to it.
 */
export interface AnswerRoute {
  /** The route's stream in the session's event log. */
  readonly streamId: string;
  /** Whether a client is connected to it (a resume must wait until it is not). */
  readonly isAttached: boolean;
  /** Takes one message for the request; false once the route is over. */
  deliver(message: JsonRpcMessage): boolean;
  /** No answer will come: the session ended, or the call was given up. */
  close(): void;
}

export interface McpClientSessionLimits {
  /** Server-to-client requests this client may have unanswered at once. */
  maxAsks: number;
  /** How long the gateway waits for this client to answer one. */
  askTimeoutMs: number;
}

/**
 * One MCP client's session on one server name: what it negotiated, what it subscribed to, and the
 * requests the server sent it that it has not answered yet. Outlives the tunnel it started on, so
 * a tunnel that re-registers under the same name keeps its clients.
 */
export class McpClientSession implements TunnelCaller {
  lastActivity = Date.now();
  /** HTTP requests of this session still open (a held SSE stream counts); idle expiry waits for zero. */
  openExchanges = 0;
  initialized = false;
  protocolVersion: string | undefined;
  clientCapabilities: Record<string, unknown> = {};
  /** Resource URIs this client subscribed to. */
  readonly subscriptions = new Set<string>();

  /** Requests from the server awaiting this client's answer, under ids this client cannot confuse. */
  private readonly asks: PendingCalls;
  /** Requests answered past the SDK's transport, by the client's request id. */
  private readonly routes = new Map<JsonRpcId, AnswerRoute>();
  private closing = false;

  constructor(
    readonly id: string,
    readonly serverName: string,
    /** Who created the session; only that user may use it. */
    readonly principal: CallerPrincipal,
    readonly kind: McpTransportKind,
    readonly transport: Transport,
    /** The server the client initialized against; a re-registration that changes it ends the session. */
    readonly server: ServerIdentity,
    private readonly limits: McpClientSessionLimits,
    /** The Streamable HTTP transport's resumption store; the legacy transport has none. */
    private readonly eventStore?: BoundedEventStore,
  ) {
    this.asks = new PendingCalls(limits.maxAsks, 'gw-s-', 'the MCP client');
  }

  get key(): string {
    return this.id;
  }

  /** Owner key of the user who created the session. */
  get user(): string | null {
    return this.principal.user;
  }

  get isOpen(): boolean {
    return !this.closing;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  beginExchange(): void {
    this.openExchanges++;
    this.touch();
  }

  endExchange(): void {
    this.openExchanges = Math.max(0, this.openExchanges - 1);
    this.touch();
  }

  /** Progress for one of this client's calls travels with that call (its SSE stream, when it has one). */
  onProgress(notification: JsonRpcNotification, callerRequestId: JsonRpcId): void {
    void this.send(notification, callerRequestId);
  }

  /** Whether this client declared what the server's request needs. */
  canAnswer(method: string): boolean {
    const capability = capabilityFor(method);
    if (capability === undefined) return false;
    return capability === null || this.clientCapabilities[capability] !== undefined;
  }

  /**
   * Sends a server-to-client request to this client under a fresh id and resolves with the
   * client's answer carrying the server's id again. `origin` is the tunnel that asked.
   */
  ask(request: JsonRpcRequest, origin: string, relatedRequestId?: JsonRpcId): Promise<JsonRpcResponse> {
    if (this.closing) return Promise.reject(new CallError('closed', SESSION_ENDED));
    const { tunnelId: clientId, answer } = this.asks.open(
      request.id,
      this.limits.askTimeoutMs,
      (expiredId) => void this.send(cancelled(expiredId, 'The gateway stopped waiting for an answer')),
      { origin },
    );
    const message = { ...request, id: clientId };
    void (async () => {
      // The call's own stream may be gone (client reconnecting); the session-wide stream then carries it.
      const sent = (await this.send(message, relatedRequestId)) || (relatedRequestId !== undefined && (await this.send(message)));
      if (!sent) this.asks.fail(clientId, new CallError('closed', 'The MCP client is not reachable'));
    })();
    return answer;
  }

  /** Takes the client's answer to a server request; false when nothing waits for it. */
  receiveAnswer(response: JsonRpcResponse): boolean {
    return this.asks.settle(response) !== undefined;
  }

  /** The server withdrew one of its requests: stop waiting and tell the client, under the id it knows. */
  withdrawAsk(origin: string, serverRequestId: JsonRpcId, reason: string | undefined): void {
    const clientId = this.asks.find((call) => call.context.origin === origin && call.callerRequestId === serverRequestId);
    if (!clientId) return;
    this.asks.fail(clientId, new CallError('cancelled', 'Cancelled by the server'));
    void this.send(cancelled(clientId, reason));
  }

  /**
   * Sends a message to the client, next to the request it relates to when given. Never throws:
   * a client that went away is noticed by its transport closing. Resolves with whether it was sent.
   */
  async send(message: JsonRpcMessage, relatedRequestId?: JsonRpcId): Promise<boolean> {
    if (this.closing) return false;
    if (this.routes.size > 0) {
      // Like the SDK's transport: an answer goes by its own id, anything else by the request it relates to.
      const key = 'method' in message ? relatedRequestId : (message.id ?? undefined);
      const route = key === undefined ? undefined : this.routes.get(key);
      if (route) return route.deliver(message);
    }
    try {
      await this.transport.send(message as JSONRPCMessage, relatedRequestId === undefined ? undefined : { relatedRequestId });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The messages of request `requestId` go to `route` until `unroute`; false (nothing changed) when a
   * request of the same id is routed already or the session is over.
   */
  route(requestId: JsonRpcId, route: AnswerRoute): boolean {
    if (this.closing || this.routes.has(requestId)) return false;
    this.routes.set(requestId, route);
    return true;
  }

  /** Request `requestId` ended without an answer (the client cancelled it): its route, if any, ends too. */
  endWithoutAnswer(requestId: JsonRpcId): void {
    this.routes.get(requestId)?.close();
  }

  /** Whether request `requestId` has a route (is in flight past the SDK's transport). */
  isRouted(requestId: JsonRpcId): boolean {
    return this.routes.has(requestId);
  }

  /** Request `requestId`'s route is over. */
  unroute(requestId: JsonRpcId, route: AnswerRoute): void {
    if (this.routes.get(requestId) === route) this.routes.delete(requestId);
  }

  /** The route whose stream gave out `eventId`, while it is open (a client resuming that stream). */
  routeOfEvent(eventId: string): AnswerRoute | undefined {
    const streamId = this.eventStore?.streamOf(eventId);
    if (streamId === undefined) return undefined;
    for (const route of this.routes.values()) if (route.streamId === streamId) return route;
    return undefined;
  }

  /** The session's resumption store (Streamable HTTP only). */
  get eventLog(): BoundedEventStore | undefined {
    return this.eventStore;
  }

  /** Whether `eventId` was given out by another replica that held this session before (cluster mode): its events are not here. */
  isForeignEvent(eventId: string): boolean {
    return this.eventStore?.isForeign(eventId) ?? false;
  }

  /** The exchange that carried the answers to these requests finished: their events need not be kept. */
  answersDelivered(requestIds: readonly (string | number)[]): void {
    this.eventStore?.forgetAnswered(requestIds);
  }

  /** Marks the session ended, fails the server's requests still waiting on this client and frees its stored events. */
  markClosed(): void {
    this.closing = true;
    this.asks.failAll(new CallError('closed', SESSION_ENDED));
    for (const route of [...this.routes.values()]) route.close();
    this.routes.clear();
    this.eventStore?.close();
  }

  /** Ends the session from the gateway's side; the transport's close handler does the cleanup. */
  async close(): Promise<void> {
    await this.transport.close().catch(() => undefined);
  }
}

function cancelled(requestId: JsonRpcId, reason: string | undefined): JsonRpcNotification {
  return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, ...(reason ? { reason } : {}) } };
}
