import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { AccessAudit, type AuditDoor } from '../../auth/access-audit.js';
import type { Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { sessionRole } from '../../reverse-proxy/tunnel/session-access.js';
import { SessionRegistry } from '../../reverse-proxy/tunnel/session-registry.js';
import type { TunnelHandle } from '../../reverse-proxy/tunnel/tunnel-handle.js';
import { BoundedEventStore } from './bounded-event-store.js';
import { EventStoreBudget } from './event-store-budget.js';
import { McpClientSession, type McpTransportKind } from './mcp-client-session.js';
import { McpSessionBridge } from './mcp-session-bridge.service.js';
import { McpSessionStore } from './mcp-session-store.service.js';
import { sameServerIdentity, serverIdentityOf } from '../server-identity.js';
import { ResourceSubscriptions } from './resource-subscriptions.service.js';
import { SharedSessionState } from './shared-session-state.service.js';

/** The id of the initialize the gateway replays to a session it adopts (never sent to a server or a client). */
const ADOPTION_REQUEST_ID = 'gateway-adoption';

/**
 * Opens MCP client sessions on a server name for a caller (checking that the name is served, the
 * caller may reach it, and the global and per-user session caps), and finds them again for that caller only.
 */
@Injectable()
export class McpSessionOpener {
  /** Resumption bytes of all sessions together (`MCP_EVENT_STORE_TOTAL_BYTES`). */
  private readonly eventStoreBudget: EventStoreBudget;
  /** Adoptions under way, so that concurrent requests of one session adopt it once. */
  private readonly adopting = new Map<string, Promise<McpClientSession | undefined>>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: McpSessionStore,
    private readonly bridge: McpSessionBridge,
    private readonly shared: SharedSessionState,
    private readonly subscriptions: ResourceSubscriptions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AccessAudit,
  ) {
    this.eventStoreBudget = new EventStoreBudget(config.mcp.eventStoreTotalBytes);
  }

  /**
   * A Streamable HTTP session; the SDK transport gives the client its id when it initializes.
   * The SDK's web-standard transport: the door does the Node side itself (web-exchange.ts).
   */
  openStreamableHttp(
    name: string,
    principal: Principal,
  ): { session: McpClientSession; transport: WebStandardStreamableHTTPServerTransport } {
    return this.streamable(randomUUID(), this.reachableServer(name, principal, 'mcp'), principal);
  }

  /**
   * Cluster mode: the session `id` this replica does not hold, taken over from the shared state when
   * the tunnel of its server moved here (its old replica stopped, or its client reconnected here).
   * Only its creator's request adopts it, only while the server is the one it initialized against.
   * The SDK transport is brought to the session's state by replaying its initialize.
   */
  async adopt(id: string, name: string, principal: Principal): Promise<McpClientSession | undefined> {
    if (!this.shared.enabled) return undefined;
    let pending = this.adopting.get(id);
    if (!pending) {
      pending = this.adoptNow(id, name, principal).finally(() => this.adopting.delete(id));
      this.adopting.set(id, pending);
    }
    await pending;
    return this.find(id, name, principal, 'streamable-http');
  }

  private async adoptNow(id: string, name: string, principal: Principal): Promise<McpClientSession | undefined> {
    const saved = await this.shared.load(id);
    if (!saved || saved.name !== name || saved.user !== principal.user || this.sessions.get(id)) return undefined;
    const tunnel = this.reachableServer(name, principal, 'mcp');
    if (!sameServerIdentity(saved.server, serverIdentityOf(tunnel))) {
      // Its client negotiated capabilities this server no longer has: it must initialize again.
      this.shared.forget(id);
      return undefined;
    }
    const { session, transport } = this.streamable(id, tunnel, principal);
    const initialize = {
      jsonrpc: '2.0',
      id: ADOPTION_REQUEST_ID,
      method: 'initialize',
      params: {
        protocolVersion: saved.protocolVersion,
        capabilities: saved.clientCapabilities,
        clientInfo: { name: 'adopted', version: '0' },
      },
    };
    const replay = new Request('http://localhost/', {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
    });
    const answer = await transport.handleRequest(replay, { parsedBody: initialize });
    await answer.text();
    session.answersDelivered([ADOPTION_REQUEST_ID]);
    if (transport.sessionId !== id || !session.initialized) {
      await session.close();
      return undefined;
    }
    this.subscriptions.adopt(session, saved.subscriptions, tunnel);
    return session;
  }

  /** A Streamable HTTP session `id` on `tunnel`: the SDK's web-standard transport (the door does the Node side). */
  private streamable(
    id: string,
    tunnel: TunnelHandle,
    principal: Principal,
  ): { session: McpClientSession; transport: WebStandardStreamableHTTPServerTransport } {
    const { eventStoreMaxEvents: maxEvents, eventStoreMaxBytes: maxBytes } = this.config.mcp;
    const eventStore = new BoundedEventStore({ maxEvents, maxBytes }, this.eventStoreBudget);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore,
      keepAliveMs: this.config.sse.keepaliveMs,
      maxRequestBodySize: this.config.requests.maxBodyBytes,
    });
    return { session: this.open(id, tunnel, principal, 'streamable-http', transport, eventStore), transport };
  }

  /**
   * A legacy HTTP+SSE session on the GET stream `res`; messages come back to `messagesPath?sessionId=`
   * (in cluster mode with `&replica=<this replica>`, so that a POST entering another replica finds the stream's).
   */
  openLegacySse(name: string, principal: Principal, res: ServerResponse): { session: McpClientSession; transport: SSEServerTransport } {
    const tunnel = this.reachableServer(name, principal, 'legacy-sse');
    const replica = this.config.cluster ? `?replica=${encodeURIComponent(this.config.cluster.replicaId)}` : '';
    const transport = new SSEServerTransport(`/servers/${encodeURIComponent(name)}/messages${replica}`, res);
    return { session: this.open(transport.sessionId, tunnel, principal, 'sse', transport), transport };
  }

  /**
   * The caller's session with this id on this name. Another user's id, or an id of the other
   * transport, is as unknown as a made-up one (404), so ids cannot be probed. The caller must still
   * be allowed on the server (403 once the owner no longer shares it with the caller).
   */
  find(id: string, name: string, principal: Principal, kind: McpTransportKind): McpClientSession | undefined {
    const session = this.sessions.get(id);
    if (!session || !session.isOpen || session.serverName !== name || session.kind !== kind) return undefined;
    if (session.user !== principal.user) return undefined;
    const tunnel = this.registry.readyByName(name);
    if (tunnel) this.authorize(tunnel, principal, kind === 'sse' ? 'legacy-sse' : 'mcp');
    return session;
  }

  private open(
    id: string,
    tunnel: TunnelHandle,
    principal: Principal,
    kind: McpTransportKind,
    transport: Transport,
    eventStore?: BoundedEventStore,
  ): McpClientSession {
    const limits = { maxAsks: this.config.tunnel.maxPendingPerSession, askTimeoutMs: this.config.requests.defaultTimeoutMs };
    const session = new McpClientSession(
      id,
      tunnel.name,
      { user: principal.user, isAdmin: principal.isAdmin, via: principal.via, groups: principal.groups },
      kind,
      transport,
      serverIdentityOf(tunnel),
      limits,
      eventStore,
    );
    this.bridge.attach(session);
    return session;
  }

  /**
   * The ready tunnel serving `name`, if the caller may use it: its owner, an admin, or a user its
   * access rules name (404 unknown name, 403 otherwise, with an audit line naming `door`).
   */
  reachable(name: string, principal: Principal, door: AuditDoor = 'mcp'): TunnelHandle {
    const tunnel = this.registry.readyByName(name);
    if (!tunnel) throw new NotFoundException(`Server ${name.slice(0, 128)} not found`);
    this.authorize(tunnel, principal, door);
    return tunnel;
  }

  /** 403 (and an audit line) unless the caller has a role on the tunnel's server. */
  private authorize(tunnel: TunnelHandle, principal: Principal, door: AuditDoor): void {
    if (sessionRole(tunnel, principal)) return;
    this.audit.useRefused(principal, { session: tunnel.id, server: tunnel.name }, door);
    throw new ForbiddenException('Not authorized for this server');
  }

  private reachableServer(name: string, principal: Principal, door: AuditDoor): TunnelHandle {
    const tunnel = this.reachable(name, principal, door);
    if (this.sessions.isFull) throw new ServiceUnavailableException('Too many MCP sessions on this gateway; try again later');
    // One user cannot take the whole gateway: others keep their share of the global cap.
    if (this.sessions.isFullFor(principal.user)) {
      const limit = this.config.mcp.maxSessionsPerUser;
      throw new HttpException(`Too many MCP sessions for this user (limit ${limit}); end some first`, HttpStatus.TOO_MANY_REQUESTS);
    }
    return tunnel;
  }
}
