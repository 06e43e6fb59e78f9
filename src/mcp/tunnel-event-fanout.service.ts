import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import type { JsonRpcNotification } from '../protocol/json-rpc.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';
import type { SessionHandle } from '../reverse-proxy/tunnel/tunnel-handle.js';
import type { McpClientSession } from './sessions/mcp-client-session.js';
import { McpServerRequestRouter } from './sessions/mcp-server-request-router.js';
import { McpSessionStore } from './sessions/mcp-session-store.service.js';
import { ResourceSubscriptions } from './sessions/resource-subscriptions.service.js';
import { ServerCatalog } from './catalog/server-catalog.service.js';
import { sameServerIdentity, serverIdentityOf } from './server-identity.js';
import { StatelessMcpDoor } from './stateless/stateless-mcp-door.service.js';

/**
 * Connects every registered tunnel to the MCP sessions of its name: installs the server-request
 * router, delivers the server's notifications to the sessions that should see them, and, when a
 * name is re-registered, keeps the sessions that can carry on and ends the others.
 */
@Injectable()
export class TunnelEventFanout implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('McpFanout');
  private changes: Subscription | undefined;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: McpSessionStore,
    private readonly router: McpServerRequestRouter,
    private readonly subscriptions: ResourceSubscriptions,
    private readonly catalog: ServerCatalog,
    private readonly stateless: StatelessMcpDoor,
  ) {}

  onModuleInit(): void {
    this.changes = this.registry.changes$.subscribe((change) => {
      if (change.type === 'registered') this.onRegistered(change.session);
    });
  }

  onModuleDestroy(): void {
    this.changes?.unsubscribe();
  }

  private onRegistered(tunnel: SessionHandle): void {
    const name = tunnel.name;
    if (!name) return;
    tunnel.routeServerRequestsWith(this.router);
    // Completes by itself when the tunnel closes.
    let failed = false;
    tunnel.notifications$.subscribe((event) => {
      if (event.type !== 'notification') return;
      // RxJS rethrows a subscriber's error on a timer, which would end the process: this notification is lost instead.
      try {
        this.deliver(tunnel, event.payload as JsonRpcNotification);
      } catch (err) {
        if (!failed) this.logger.error({ msg: 'Notification not delivered', sessionId: tunnel.id, server: name, error: String(err) });
        failed = true;
      }
    });
    const identity = serverIdentityOf(tunnel);
    for (const session of this.sessions.ofServer(name)) {
      if (sameServerIdentity(session.server, identity)) continue;
      // Its client negotiated capabilities this server no longer has: a 404 makes it re-initialize.
      this.logger.log({ msg: 'Server changed under an MCP session, ending it', sessionId: session.id, server: name });
      void session.close();
    }
    this.subscriptions.restore(tunnel);
  }

  private deliver(tunnel: SessionHandle, notification: JsonRpcNotification): void {
    const name = tunnel.name ?? '';
    const params = (notification.params ?? {}) as Record<string, unknown>;
    const method = notification.method;
    // 2026-07-28 clients hear of changes on their `subscriptions/listen` streams.
    this.stateless.publish(name, notification);
    if (method === 'notifications/resources/updated') {
      if (typeof params.uri === 'string') this.sendTo(this.subscriptions.subscribersOf(name, params.uri), notification);
      return;
    }
    if (method === 'notifications/cancelled') {
      // The server withdrew one of its own requests; only the client holding it hears of it.
      const requestId = params.requestId;
      if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
      const reason = typeof params.reason === 'string' ? params.reason : undefined;
      for (const session of this.sessions.ofServer(name)) session.withdrawAsk(tunnel.id, requestId, reason);
      return;
    }
    if (method === 'notifications/tools/list_changed') this.catalog.forgetTools(tunnel);
    if (method.endsWith('/list_changed') || method === 'notifications/message') {
      this.sendTo(this.sessions.ofServer(name), notification);
    }
    // Anything else (progress nobody owns, unknown methods) concerns no MCP client in particular.
  }

  private sendTo(sessions: McpClientSession[], notification: JsonRpcNotification): void {
    for (const session of sessions) if (session.initialized) void session.send(notification);
  }
}
