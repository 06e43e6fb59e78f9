import { Injectable } from '@nestjs/common';
import type { JsonRpcRequest } from '../../protocol/json-rpc.js';
import type { SessionHandle } from '../../reverse-proxy/tunnel/tunnel-handle.js';
import type { McpClientSession } from './mcp-client-session.js';
import { McpSessionStore } from './mcp-session-store.service.js';
import { TunnelRelay } from '../tunnel-relay.service.js';
import { SharedSessionState } from './shared-session-state.service.js';

/**
 * resources/subscribe shared by many clients of one server: the server sees one subscription per
 * URI (the first subscribe, the last unsubscribe), and `resources/updated` goes to the clients
 * that subscribed. Subscriptions are replayed to a tunnel that re-registers under the same name.
 */
@Injectable()
export class ResourceSubscriptions {
  private seq = 0;

  constructor(
    private readonly sessions: McpSessionStore,
    private readonly relay: TunnelRelay,
    private readonly shared: SharedSessionState,
  ) {}

  async subscribe(session: McpClientSession, request: JsonRpcRequest): Promise<void> {
    const uri = uriOf(request);
    if (uri === undefined) {
      await this.relay.relay(session, request);
      return;
    }
    if (this.othersSubscribed(session, uri)) {
      session.subscriptions.add(uri);
      this.shared.save(session);
      await session.send({ jsonrpc: '2.0', id: request.id, result: {} });
      return;
    }
    const answer = await this.relay.relay(session, request);
    if (answer && 'result' in answer) {
      session.subscriptions.add(uri);
      this.shared.save(session);
    }
  }

  async unsubscribe(session: McpClientSession, request: JsonRpcRequest): Promise<void> {
    const uri = uriOf(request);
    if (uri !== undefined && session.subscriptions.delete(uri)) this.shared.save(session);
    if (uri !== undefined && this.othersSubscribed(session, uri)) {
      await session.send({ jsonrpc: '2.0', id: request.id, result: {} });
      return;
    }
    await this.relay.relay(session, request);
  }

  /** The sessions of a server name subscribed to a URI. */
  subscribersOf(serverName: string, uri: string): McpClientSession[] {
    return this.sessions.ofServer(serverName).filter((s) => s.subscriptions.has(uri));
  }

  /** A session ended: unsubscribe the server from URIs nobody else follows. */
  release(session: McpClientSession, tunnel: SessionHandle | undefined): void {
    for (const uri of session.subscriptions) {
      if (tunnel && !this.othersSubscribed(session, uri)) this.send(tunnel, 'resources/unsubscribe', uri);
    }
    session.subscriptions.clear();
  }

  /** A session adopted from another replica (cluster mode) takes its subscriptions back; the server hears of those nobody here follows. */
  adopt(session: McpClientSession, uris: readonly string[], tunnel: SessionHandle): void {
    for (const uri of uris) {
      if (!this.othersSubscribed(session, uri)) this.send(tunnel, 'resources/subscribe', uri);
      session.subscriptions.add(uri);
    }
  }

  /** A new tunnel serves the name: subscribe it to what the name's clients follow. */
  restore(tunnel: SessionHandle): void {
    const uris = new Set<string>();
    for (const session of this.sessions.ofServer(tunnel.name ?? '')) for (const uri of session.subscriptions) uris.add(uri);
    for (const uri of uris) this.send(tunnel, 'resources/subscribe', uri);
  }

  private othersSubscribed(session: McpClientSession, uri: string): boolean {
    return this.sessions.ofServer(session.serverName).some((s) => s !== session && s.subscriptions.has(uri));
  }

  private send(tunnel: SessionHandle, method: string, uri: string): void {
    this.relay.fireAndForget(tunnel, { jsonrpc: '2.0', method, params: { uri } }, `gateway-subscription-${++this.seq}`);
  }
}

function uriOf(request: JsonRpcRequest): string | undefined {
  const uri = (request.params as Record<string, unknown> | undefined)?.uri;
  return typeof uri === 'string' ? uri : undefined;
}
