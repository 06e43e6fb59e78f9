import type { Redis } from 'ioredis';
import type { RegisteredServer } from '../../protocol/envelopes.js';
import type { SessionState } from '../tunnel/tunnel-handle.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonWithin } from '../../protocol/json-limits.js';
import type { ShareRules } from '../../protocol/share.js';

/** Limits of what the directory stores. */
export const CLUSTER_DIRECTORY_LIMITS = {
  /** A session's server description larger than this (UTF-8 JSON) is refused, not stored. */
  maxServerJsonBytes: 64 * 1024,
  /** Keys asked for per SCAN round when listing replicas. */
  scanCount: 100,
} as const;

/** Options of a directory: one per replica, over a client the caller owns (and quits). */
export interface ClusterDirectoryOptions {
  /** A client without ioredis' own `keyPrefix` (the scripts build keys themselves). */
  redis: Redis;
  /** Prefix of every key, e.g. `mcp-gw:`; a hash tag (`{mcp-gw}:`) keeps them in one Redis Cluster slot. */
  prefix: string;
  /** This replica's id, unique in the cluster. */
  replicaId: string;
  /** How long a lease lives without renewal (ms). */
  leaseMs: number;
}

/** A tunnel session as the cluster sees it. */
export interface SessionRecord {
  id: string;
  /** The replica holding the tunnel. */
  replica: string;
  owner: string | null;
  /** The registered server name; undefined before `register`. */
  name: string | undefined;
  /** What the tunnel registered; undefined before `register`. */
  server: RegisteredServer | undefined;
  connectedAt: Date;
  /** The session's state when its replica last wrote the record. */
  state: SessionState;
  /** Its counters when its replica last wrote the record (every lease renewal). */
  counters: SessionCounters;
  /** Who besides the owner may use the server (as data; validated by the reader); absent: only the owner. */
  access?: ShareRules;
  /** The connection dropped and the session waits for a resume (as of the last write). */
  suspended?: boolean;
}

/** A session's traffic counters, as the admin API shows them. */
export interface SessionCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  pendingCount: number;
  /** Last frame sent or received (epoch ms). */
  lastActivity: number;
}

const NO_COUNTERS: SessionCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, pendingCount: 0, lastActivity: 0 };

/** Result of claiming a name cluster-wide. */
export type ClusterNameClaim =
  /** The name was free (or its holder's replica is gone), or this session already held it. */
  | { kind: 'taken' }
  /** The same owner held it: the caller closes `previous`. */
  | { kind: 'replaced'; previous: { sessionId: string; replica: string } }
  /** Another owner holds it (`owner`), or this replica holds no lease (`no-lease`). */
  | { kind: 'refused'; reason: 'owner' | 'no-lease' };

// KEYS: name key, own lease key. ARGV: session id, owner (JSON), own replica id, lease key prefix, '1' to take over a name of the same owner.
const CLAIM_NAME = `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'no-lease'} end
local held = redis.call('HMGET', KEYS[1], 'session', 'owner', 'replica')
if held[1] and held[1] ~= ARGV[1] and redis.call('EXISTS', ARGV[4] .. held[3]) == 1 then
  if held[2] ~= ARGV[2] or ARGV[5] ~= '1' then return {'owner'} end
  redis.call('HSET', KEYS[1], 'session', ARGV[1], 'owner', ARGV[2], 'replica', ARGV[3])
  return {'replaced', held[1], held[3]}
end
redis.call('HSET', KEYS[1], 'session', ARGV[1], 'owner', ARGV[2], 'replica', ARGV[3])
return {'taken'}
`;

// KEYS: name key. ARGV: session id.
const RELEASE_NAME = `
if redis.call('HGET', KEYS[1], 'session') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: name key. ARGV: lease key prefix. The holder's session id, if its replica is alive.
const NAME_HOLDER = `
local held = redis.call('HMGET', KEYS[1], 'session', 'replica')
if held[1] and redis.call('EXISTS', ARGV[1] .. held[2]) == 1 then return held[1] end
return false
`;

/** The scripts above, as `defineCommand` adds them to the client. */
interface DirectoryScripts {
  clusterDirectoryClaimName(nameKey: string, leaseKey: string, ...args: string[]): Promise<string[]>;
  clusterDirectoryReleaseName(nameKey: string, sessionId: string): Promise<number>;
  clusterDirectoryNameHolder(nameKey: string, leasePrefix: string): Promise<string | null>;
}

/** Stored form of a SessionRecord (the id is in the key). */
interface StoredSession {
  replica: string;
  owner: string | null;
  name?: string;
  server?: RegisteredServer;
  connectedAt: number;
  state?: SessionState;
  counters?: SessionCounters;
  access?: ShareRules;
  suspended?: boolean;
}

/**
 * The cluster's shared directory in Redis: replica leases, server names (claimed atomically,
 * today's rules) and session records. A replica whose lease is gone is dead: its names are free
 * again and its sessions are no longer listed. Keys: `<prefix>replica:<id>` (the lease),
 * `<prefix>name:<name>` (hash: session, owner, replica), `<prefix>session:<id>` (JSON) and the
 * set `<prefix>sessions`.
 */
export class ClusterDirectory {
  readonly replicaId: string;
  private readonly redis: Redis;
  private readonly scripts: DirectoryScripts;
  /** Prefix of every key (CLUSTER_PREFIX). */
  readonly prefix: string;
  private readonly leaseMs: number;
  private readonly leasePrefix: string;

  constructor(options: ClusterDirectoryOptions) {
    if (options.redis.options.keyPrefix) throw new Error('ClusterDirectory needs a Redis client without keyPrefix');
    if (!(options.leaseMs > 0)) throw new RangeError('leaseMs must be positive');
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.replicaId = options.replicaId;
    this.leaseMs = Math.ceil(options.leaseMs);
    this.leasePrefix = `${this.prefix}replica:`;
    this.redis.defineCommand('clusterDirectoryClaimName', { numberOfKeys: 2, lua: CLAIM_NAME });
    this.redis.defineCommand('clusterDirectoryReleaseName', { numberOfKeys: 1, lua: RELEASE_NAME });
    this.redis.defineCommand('clusterDirectoryNameHolder', { numberOfKeys: 1, lua: NAME_HOLDER, readOnly: true });
    this.scripts = this.redis as unknown as DirectoryScripts;
  }

  /** Takes (or re-takes) this replica's lease for `leaseMs`. */
  async holdLease(): Promise<void> {
    await this.redis.set(this.leaseKey(this.replicaId), '1', 'PX', this.leaseMs);
  }

  /** Extends the lease; false when it had already expired (this replica's names and sessions are then forfeit). */
  async renewLease(): Promise<boolean> {
    return (await this.redis.set(this.leaseKey(this.replicaId), '1', 'PX', this.leaseMs, 'XX')) === 'OK';
  }

  /** Gives the lease up (shutdown): the replica counts as dead at once. */
  async releaseLease(): Promise<void> {
    await this.redis.del(this.leaseKey(this.replicaId));
  }

  /** Ids of the replicas holding a lease. */
  async liveReplicas(): Promise<string[]> {
    const ids: string[] = [];
    const match = `${globEscape(this.leasePrefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', CLUSTER_DIRECTORY_LIMITS.scanCount);
      for (const key of keys) ids.push(key.slice(this.leasePrefix.length));
      cursor = next;
    } while (cursor !== '0');
    return [...new Set(ids)].sort();
  }

  /**
   * Binds `name` to a session of this replica, atomically across the cluster. `takeOver: false`
   * refuses a name another live session holds even for the same owner (re-claiming after a lapse).
   */
  async claimName(name: string, sessionId: string, owner: string | null, takeOver = true): Promise<ClusterNameClaim> {
    const [kind, previous, replica] = await this.scripts.clusterDirectoryClaimName(
      this.nameKey(name),
      this.leaseKey(this.replicaId),
      sessionId,
      JSON.stringify(owner),
      this.replicaId,
      this.leasePrefix,
      takeOver ? '1' : '0',
    );
    if (kind === 'taken') return { kind };
    if (kind === 'replaced') return { kind, previous: { sessionId: previous, replica } };
    return { kind: 'refused', reason: kind === 'no-lease' ? 'no-lease' : 'owner' };
  }

  /** Frees `name` if `sessionId` still holds it; returns whether it did. */
  async releaseName(name: string, sessionId: string): Promise<boolean> {
    return (await this.scripts.clusterDirectoryReleaseName(this.nameKey(name), sessionId)) === 1;
  }

  /** The session holding `name`, unless its replica is dead. */
  async sessionIdByName(name: string): Promise<string | undefined> {
    return (await this.scripts.clusterDirectoryNameHolder(this.nameKey(name), this.leasePrefix)) ?? undefined;
  }

  /** Stores (or updates) a session of this replica; rejects a server description over the size limit. */
  async putSession(record: Omit<SessionRecord, 'replica'>): Promise<void> {
    await this.putSessions([record]);
  }

  /** Stores (or updates) sessions of this replica in one round trip; rejects a server description over the size limit. */
  async putSessions(records: readonly Omit<SessionRecord, 'replica'>[]): Promise<void> {
    if (records.length === 0) return;
    const multi = this.redis.multi();
    for (const record of records) {
      const stored: StoredSession = {
        replica: this.replicaId,
        owner: record.owner,
        name: record.name,
        server: record.server,
        connectedAt: record.connectedAt.getTime(),
        state: record.state,
        counters: record.counters,
        ...(record.access ? { access: record.access } : {}),
        ...(record.suspended ? { suspended: true } : {}),
      };
      const serverBytes = record.server === undefined ? 0 : Buffer.byteLength(JSON.stringify(record.server));
      if (serverBytes > CLUSTER_DIRECTORY_LIMITS.maxServerJsonBytes) {
        throw new RangeError(`server description of ${serverBytes} bytes exceeds ${CLUSTER_DIRECTORY_LIMITS.maxServerJsonBytes}`);
      }
      multi.set(this.sessionKey(record.id), JSON.stringify(stored)).sadd(this.sessionsKey(), record.id);
    }
    await multi.exec();
  }

  /** Forgets a session; returns whether it was there. */
  async removeSession(id: string): Promise<boolean> {
    const result = await this.redis.multi().del(this.sessionKey(id)).srem(this.sessionsKey(), id).exec();
    return result?.[0]?.[1] === 1;
  }

  /** A session's record, unless it is missing or its replica is dead. */
  async getSession(id: string): Promise<SessionRecord | undefined> {
    const [record] = await this.liveRecords([id]);
    return record;
  }

  /** Every session of a live replica; records of dead replicas are skipped and deleted. */
  async listSessions(): Promise<SessionRecord[]> {
    return this.liveRecords(await this.redis.smembers(this.sessionsKey()));
  }

  private async liveRecords(ids: string[]): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.sessionKey(id)));
    const records = ids.map((id, i) => parseRecord(id, texts[i]));
    const replicas = [...new Set(records.flatMap((r) => (r ? [r.replica] : [])))];
    const leases = replicas.length ? await this.redis.mget(replicas.map((r) => this.leaseKey(r))) : [];
    const alive = new Set(replicas.filter((_, i) => leases[i] !== null));
    const stale = ids.filter((_, i) => !records[i] || !alive.has(records[i].replica));
    if (stale.length) {
      await this.redis
        .multi()
        .del(...stale.map((id) => this.sessionKey(id)))
        .srem(this.sessionsKey(), ...stale)
        .exec();
    }
    return records.filter((r): r is SessionRecord => r !== undefined && alive.has(r.replica));
  }

  private leaseKey(replicaId: string): string {
    return `${this.leasePrefix}${replicaId}`;
  }
  private nameKey(name: string): string {
    return `${this.prefix}name:${name}`;
  }
  private sessionKey(id: string): string {
    return `${this.prefix}session:${id}`;
  }
  private sessionsKey(): string {
    return `${this.prefix}sessions`;
  }
}

/** A stored record back as a SessionRecord; undefined when missing or malformed. */
function parseRecord(id: string, text: string | null): SessionRecord | undefined {
  if (text === null) return undefined;
  const parsed = parseJsonWithin(text, DEFAULT_MAX_JSON_DEPTH);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  const stored = parsed.value as Partial<StoredSession>;
  if (typeof stored.replica !== 'string' || typeof stored.connectedAt !== 'number') return undefined;
  return {
    id,
    replica: stored.replica,
    owner: typeof stored.owner === 'string' ? stored.owner : null,
    name: typeof stored.name === 'string' ? stored.name : undefined,
    server: stored.server,
    connectedAt: new Date(stored.connectedAt),
    state: STATES.has(stored.state as SessionState) ? (stored.state as SessionState) : 'connected',
    counters: { ...NO_COUNTERS, ...(typeof stored.counters === 'object' && stored.counters !== null ? stored.counters : {}) },
    ...(stored.access === undefined ? {} : { access: stored.access }),
    ...(stored.suspended === true ? { suspended: true } : {}),
  };
}

const STATES = new Set<SessionState>(['connected', 'registered', 'ready', 'closed']);

/** Escapes Redis glob characters, so a prefix matches only itself in SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
