import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { parseJsonWithin } from '../../protocol/json-limits.js';
import { isObject } from '../../protocol/json-rpc.js';
import { CLUSTER, type Cluster } from '../../reverse-proxy/cluster/create-session-registry.js';
import type { ServerIdentity } from '../server-identity.js';
import type { McpClientSession } from './mcp-client-session.js';

/** What cluster mode keeps of a Streamable HTTP session in Redis, so that another replica can take it over. */
export interface SavedSession {
  /** The server name the session was opened on. */
  name: string;
  /** Owner key of the user who opened it. */
  user: string | null;
  /** The server it initialized against. */
  server: ServerIdentity;
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  subscriptions: string[];
}

/** Limits of what is kept per session. */
export const SHARED_SESSION_LIMITS = {
  /** A session whose saved form is larger (its client's capabilities, its subscriptions) is not kept: it ends with its replica. */
  maxBytes: 64 * 1024,
  /** Its expiry is pushed back at most this often (a fraction of MCP_SESSION_IDLE_TIMEOUT_MS). */
  touchFraction: 4,
} as const;

/**
 * The part of a Streamable HTTP session that must outlive the replica holding it (cluster mode):
 * what it negotiated and subscribed to, in Redis under `<prefix>mcp-session:<id>`, expiring after
 * MCP_SESSION_IDLE_TIMEOUT_MS without use. When a tunnel moves to another replica (its replica
 * stopped, or its client reconnected elsewhere), that replica adopts the name's sessions from here
 * on their next request. Calls in flight, streams and stored events stay where they were. Without
 * REDIS_URL it keeps nothing. Redis being away costs at most an adoption: writes are not awaited.
 */
@Injectable()
export class SharedSessionState {
  private readonly idleMs: number;
  /** When each session's expiry was last pushed back. */
  private readonly touchedAt = new Map<string, number>();

  constructor(
    @Optional() @Inject(CLUSTER) private readonly cluster: Cluster | null,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.idleMs = config.mcp.sessionIdleTimeoutMs;
  }

  /** Whether sessions are shared (cluster mode). */
  get enabled(): boolean {
    return this.cluster !== null && this.cluster !== undefined;
  }

  /** Keeps what `session` negotiated and subscribed to (after initialize, and on every subscription change). */
  save(session: McpClientSession): void {
    if (!this.cluster || session.kind !== 'streamable-http' || !session.initialized) return;
    const saved: SavedSession = {
      name: session.serverName,
      user: session.user,
      server: session.server,
      protocolVersion: session.protocolVersion ?? '',
      clientCapabilities: session.clientCapabilities,
      subscriptions: [...session.subscriptions],
    };
    const json = JSON.stringify(saved);
    if (Buffer.byteLength(json) > SHARED_SESSION_LIMITS.maxBytes) return;
    this.touchedAt.set(session.id, Date.now());
    this.cluster.commands.set(this.key(session.id), json, 'PX', this.idleMs).catch(() => undefined);
  }

  /** The session is in use: its saved form lives another idle timeout (written at most a few times per timeout). */
  touch(session: McpClientSession): void {
    if (!this.cluster || session.kind !== 'streamable-http') return;
    const now = Date.now();
    if (now - (this.touchedAt.get(session.id) ?? 0) < this.idleMs / SHARED_SESSION_LIMITS.touchFraction) return;
    this.touchedAt.set(session.id, now);
    this.cluster.commands.pexpire(this.key(session.id), this.idleMs).catch(() => undefined);
  }

  /** The session ended for good (DELETE, idle, its server changed): nobody may adopt it. */
  forget(sessionId: string): void {
    this.touchedAt.delete(sessionId);
    this.cluster?.commands.del(this.key(sessionId)).catch(() => undefined);
  }

  /** The session stays (this replica is stopping): only this replica's bookkeeping goes. */
  release(sessionId: string): void {
    this.touchedAt.delete(sessionId);
  }

  /** A saved session, if there is one and it is well formed. */
  async load(sessionId: string): Promise<SavedSession | undefined> {
    if (!this.cluster || sessionId.length > 128) return undefined;
    const text = await this.cluster.commands.get(this.key(sessionId)).catch(() => null);
    if (text === null || text.length > SHARED_SESSION_LIMITS.maxBytes) return undefined;
    const parsed = parseJsonWithin(text, 64);
    if (!parsed.ok || !isObject(parsed.value)) return undefined;
    const v = parsed.value;
    const server = v.server;
    if (
      typeof v.name !== 'string' ||
      (v.user !== null && typeof v.user !== 'string') ||
      !isObject(server) ||
      typeof server.capabilities !== 'string' ||
      (server.owner !== null && typeof server.owner !== 'string') ||
      typeof v.protocolVersion !== 'string' ||
      !isObject(v.clientCapabilities) ||
      !Array.isArray(v.subscriptions)
    ) {
      return undefined;
    }
    return {
      name: v.name,
      user: v.user,
      server: { owner: server.owner, capabilities: server.capabilities },
      protocolVersion: v.protocolVersion,
      clientCapabilities: v.clientCapabilities,
      subscriptions: v.subscriptions.filter((uri): uri is string => typeof uri === 'string'),
    };
  }

  private key(sessionId: string): string {
    return `${this.cluster?.directory.prefix ?? ''}mcp-session:${sessionId}`;
  }
}
