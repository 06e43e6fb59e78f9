import { Injectable, Logger } from '@nestjs/common';
import {
  classifyJsonRpc,
  jsonRpcError,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../protocol/json-rpc.js';
import { CALL_FAILURES } from '../../reverse-proxy/tunnel/call-error.js';
import { initializeResult } from './initialize-result.js';
import { SESSION_ENDED, type McpClientSession } from './mcp-client-session.js';
import { McpSessionStore } from './mcp-session-store.service.js';
import { ResourceSubscriptions } from './resource-subscriptions.service.js';
import { SharedSessionState } from './shared-session-state.service.js';
import { TunnelRelay } from '../tunnel-relay.service.js';

/**
 * Bridges an MCP client session onto the tunnel serving its name: answers the handshake itself,
 * relays everything else, and cleans up after the session when its transport closes.
 */
@Injectable()
export class McpSessionBridge {
  private readonly logger = new Logger('McpBridge');

  constructor(
    private readonly sessions: McpSessionStore,
    private readonly relay: TunnelRelay,
    private readonly subscriptions: ResourceSubscriptions,
    private readonly shared: SharedSessionState,
  ) {}

  /** Starts bridging: the session's transport now delivers to the gateway, and its close ends the session. */
  attach(session: McpClientSession): void {
    const { transport } = session;
    transport.onmessage = (message) => this.receive(session, message);
    // Transport errors are per-request (bad headers, a stream gone); the session lives on.
    transport.onerror = (error) => this.logger.debug({ msg: 'MCP transport error', sessionId: session.id, error: error.message });
    transport.onclose = () => this.end(session);
    this.sessions.add(session);
  }

  /** One message from the session's client: by its transport, or straight from the door (`DirectAnswers`). */
  receive(session: McpClientSession, message: unknown): void {
    session.touch();
    switch (classifyJsonRpc(message)) {
      case 'request':
        this.onRequest(session, message as JsonRpcRequest).catch((err: unknown) => {
          this.logger.error({ msg: 'MCP request failed', sessionId: session.id, error: String(err) });
          session.endWithoutAnswer((message as JsonRpcRequest).id);
        });
        return;
      case 'notification':
        this.onNotification(session, message as JsonRpcNotification);
        return;
      case 'response':
        // An answer to a request the server sent this client (sampling, elicitation, roots, ping).
        session.receiveAnswer(message as JsonRpcResponse);
        return;
    }
  }

  private async onRequest(session: McpClientSession, request: JsonRpcRequest): Promise<void> {
    switch (request.method) {
      case 'initialize':
        return this.initialize(session, request);
      case 'resources/subscribe':
        return this.subscriptions.subscribe(session, request);
      case 'resources/unsubscribe':
        return this.subscriptions.unsubscribe(session, request);
      default:
        await this.relay.relay(session, request);
    }
  }

  /** The server was initialized once by its tunnel; each client gets the registered answer, in its own version. */
  private async initialize(session: McpClientSession, request: JsonRpcRequest): Promise<void> {
    const tunnel = this.relay.tunnelOf(session);
    if (!tunnel) {
      await session.send(
        jsonRpcError(request.id, CALL_FAILURES.closed.jsonRpcCode, `Server "${session.serverName}" is not connected to the gateway`),
      );
      return;
    }
    const params = (request.params ?? {}) as Record<string, unknown>;
    const result = initializeResult(tunnel.server, params.protocolVersion);
    session.protocolVersion = result.protocolVersion as string;
    const capabilities = params.capabilities;
    session.clientCapabilities = typeof capabilities === 'object' && capabilities !== null ? (capabilities as Record<string, unknown>) : {};
    session.initialized = true;
    this.shared.save(session);
    await session.send({ jsonrpc: '2.0', id: request.id, result });
  }

  private onNotification(session: McpClientSession, notification: JsonRpcNotification): void {
    // The server already had its one `initialized`, from its tunnel.
    if (notification.method === 'notifications/initialized') return;
    const tunnel = this.relay.tunnelOf(session);
    if (!tunnel) return;
    if (notification.method === 'notifications/cancelled') {
      const requestId = (notification.params as Record<string, unknown> | undefined)?.requestId;
      const reason = (notification.params as Record<string, unknown> | undefined)?.reason;
      if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
      const tunnelId = tunnel.findCall(session.key, requestId);
      if (tunnelId) tunnel.cancel(tunnelId, typeof reason === 'string' ? reason.slice(0, 200) : 'Cancelled by the client');
      return;
    }
    // A tunnel closed meanwhile is ignored: a notification has nobody to fail.
    tunnel.tryForward(notification);
  }

  /** The client session is over (DELETE, closed stream, idle expiry, gateway shutdown): nothing of it may linger. */
  private end(session: McpClientSession): void {
    if (!this.sessions.remove(session)) return;
    session.markClosed();
    // A stopping replica's sessions may be adopted by the replica their tunnel moves to; any other end is final.
    if (this.sessions.stopping) this.shared.release(session.id);
    else this.shared.forget(session.id);
    const tunnel = this.relay.tunnelOf(session);
    const cancelled = tunnel?.cancelCallsOf(session.key, SESSION_ENDED) ?? 0;
    this.subscriptions.release(session, tunnel);
    this.logger.log({ msg: 'MCP session ended', sessionId: session.id, server: session.serverName, cancelled });
  }
}
