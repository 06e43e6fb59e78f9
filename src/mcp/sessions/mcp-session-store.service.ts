import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { McpClientSession } from './mcp-client-session.js';

/** The sweep runs at most this often; idle sessions may live up to one interval past their timeout. */
const MAX_SWEEP_INTERVAL_MS = 30_000;

/**
 * Every MCP client session of this gateway, by id and by server name, with caps on how many may
 * exist (in all, and per user) and a sweep that closes the idle ones.
 */
@Injectable()
export class McpSessionStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('McpSessions');
  private readonly sessions = new Map<string, McpClientSession>();
  private readonly byServer = new Map<string, Set<McpClientSession>>();
  /** Sessions per user; the anonymous user (auth off) is one key, `null`. */
  private readonly perUser = new Map<string | null, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closingAll = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics.watchMcpSessions(() => this.sessions.values());
    const idle = this.config.mcp.sessionIdleTimeoutMs;
    this.sweepTimer = setInterval(() => this.closeIdle(), Math.max(250, Math.min(idle / 2, MAX_SWEEP_INTERVAL_MS)));
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    this.closingAll = true;
    clearInterval(this.sweepTimer);
    for (const session of [...this.sessions.values()]) void session.close();
  }

  /** The gateway is stopping: its sessions end here but not for good (in cluster mode another replica may adopt them). */
  get stopping(): boolean {
    return this.closingAll;
  }

  get size(): number {
    return this.sessions.size;
  }

  get isFull(): boolean {
    return this.sessions.size >= this.config.mcp.maxSessions;
  }

  /** Whether this user holds as many sessions as one user may (`MCP_MAX_SESSIONS_PER_USER`). */
  isFullFor(user: string | null): boolean {
    return (this.perUser.get(user) ?? 0) >= this.config.mcp.maxSessionsPerUser;
  }

  add(session: McpClientSession): void {
    this.sessions.set(session.id, session);
    let named = this.byServer.get(session.serverName);
    if (!named) this.byServer.set(session.serverName, (named = new Set()));
    named.add(session);
    this.perUser.set(session.user, (this.perUser.get(session.user) ?? 0) + 1);
  }

  get(id: string): McpClientSession | undefined {
    return this.sessions.get(id);
  }

  /** Removes a session; false when it was already gone (so cleanup runs once). */
  remove(session: McpClientSession): boolean {
    if (this.sessions.get(session.id) !== session) return false;
    this.sessions.delete(session.id);
    const named = this.byServer.get(session.serverName);
    named?.delete(session);
    if (named?.size === 0) this.byServer.delete(session.serverName);
    const held = (this.perUser.get(session.user) ?? 1) - 1;
    if (held > 0) this.perUser.set(session.user, held);
    else this.perUser.delete(session.user);
    return true;
  }

  /** The sessions opened on a server name. */
  ofServer(name: string): McpClientSession[] {
    return [...(this.byServer.get(name) ?? [])];
  }

  private closeIdle(): void {
    const deadline = Date.now() - this.config.mcp.sessionIdleTimeoutMs;
    for (const session of this.sessions.values()) {
      if (session.openExchanges === 0 && session.lastActivity < deadline) {
        this.logger.log({ msg: 'MCP session idle, closing it', sessionId: session.id, server: session.serverName });
        void session.close();
      }
    }
  }
}
