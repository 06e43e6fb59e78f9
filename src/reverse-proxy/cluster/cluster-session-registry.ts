import { Logger, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { merge, Subject, type Observable } from 'rxjs';
import { AccessRules } from '../../auth/access-rules.js';
import { CallError, CLUSTER_UNREACHABLE } from '../tunnel/call-error.js';
import { InMemorySessionRegistry } from '../tunnel/in-memory-session-registry.js';
import type { TunnelConnection } from '../tunnel/tunnel-connection.js';
import {
  SessionRegistry,
  type CarriedTunnelProtocol,
  type NameClaim,
  type RegistryChange,
  type RegistryStatus,
  type RelayedAskHandler,
} from '../tunnel/session-registry.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import type { ClusterBus } from './cluster-bus.js';
import type { ClusterDirectory, SessionRecord } from './cluster-directory.js';
import type { RelayMessage, SessionRecordJson } from './relay-envelope.js';
import { RelayClient } from './relay-client.js';
import { RelayServer } from './relay-server.js';
import { RemoteTunnel } from './remote-tunnel.js';
import { TunnelLinks } from './tunnel-links.js';

/** What the cluster registry runs on: Redis connections it owns (and quits), the directory and bus over them. */
export interface ClusterRegistryParts {
  directory: ClusterDirectory;
  bus: ClusterBus;
  /** The connections under both, closed on shutdown. */
  connections: Redis[];
  /** The connection the bus listens on: its drops fail relayed calls at once. */
  subscriber: Redis;
  /** The connection directory commands and publishes go through. */
  commands: Redis;
}

export interface ClusterRegistryOptions {
  /** Lease lifetime (CLUSTER_LEASE_MS); the lease is renewed and the directory re-read every third of it. */
  leaseMs: number;
  /** Calls this replica may relay at once. */
  maxRelayedCalls: number;
  /** Longest the first contact with Redis may hold up start-up (the replica then starts unready and keeps trying). */
  startTimeoutMs?: number;
}

/** Messages of the replicas' own the registry logs about, at most one line per kind until it changes again. */
type Condition = 'redis-down' | 'lease-lost';

/**
 * Cluster mode's registry. This replica's tunnels are kept as by the in-memory registry (an inner
 * one), and written to the shared directory in Redis; every other replica's tunnels are mirrored
 * from it, followed by broadcast changes and re-read every third of the lease, and handed to the
 * doors as `RemoteTunnel`s relaying to their replica. Names are claimed in Redis, atomically
 * cluster-wide. While Redis is away the replica is unready, its own tunnels keep serving, and calls
 * for other replicas' tunnels fail at once (503).
 */
export class ClusterSessionRegistry extends SessionRegistry implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Cluster');
  private readonly own = new InMemorySessionRegistry();
  private readonly remote = new Map<string, RemoteTunnel>();
  /** The remote sessions by server name (more than one only while a takeover settles). */
  private readonly remoteByName = new Map<string, Set<RemoteTunnel>>();
  /** When each remote record was last put by a broadcast, so a slower re-read does not undo it. */
  private readonly putAt = new Map<string, number>();
  /** Ids removed lately by a broadcast, so a slower re-read does not bring them back. */
  private readonly removedAt = new Map<string, number>();
  private readonly remoteChanges = new Subject<RegistryChange>();
  private readonly departed = new Subject<string>();
  /** Ids of replicas found dead (their lease lapsed), once each; what they were relaying or serving is over. */
  readonly departures$: Observable<string> = this.departed.asObservable();
  readonly changes$: Observable<RegistryChange>;
  private readonly relayClient: RelayClient;
  private readonly relayServer: RelayServer;
  private readonly links: TunnelLinks;
  private readonly knownReplicas = new Set<string>();
  private readonly writes = new Set<Promise<unknown>>();
  /** This replica's sessions whose registration completed: only those are described to the others as registered. */
  private readonly completed = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticking: Promise<void> | undefined;
  private leaseHeld = false;
  /**
   * Until then a re-read removes no other replica's tunnels and declares no replica gone: this
   * replica's lease had lapsed (Redis restarted empty, or it was cut off), so the others may not have
   * written their leases and records again yet.
   */
  private holdRemovalsUntil = 0;
  private stopped = false;
  private readonly conditions = new Set<Condition>();

  constructor(
    private readonly parts: ClusterRegistryParts,
    private readonly options: ClusterRegistryOptions,
  ) {
    super();
    this.changes$ = merge(this.own.changes$, this.remoteChanges);
    this.relayClient = new RelayClient(parts.bus, { maxCalls: options.maxRelayedCalls, deadlineMarginMs: 1000 });
    this.relayServer = new RelayServer(parts.bus, (id) => this.own.get(id));
    this.links = new TunnelLinks(parts.bus, (replica) => this.isLiveReplica(replica));
    parts.bus.messages$.subscribe(({ from, message }) => this.onMessage(from, message));
    this.own.changes$.subscribe((change) => this.publishOwn(change));
    parts.subscriber.on('close', () => this.onRedisLost());
    parts.subscriber.on('ready', () => void this.onRedisBack());
  }

  get replicaId(): string {
    return this.parts.directory.replicaId;
  }

  async onModuleInit(): Promise<void> {
    const interval = Math.max(250, Math.floor(this.options.leaseMs / 3));
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
    const first = Promise.all(this.parts.connections.map((c) => (c.status === 'wait' ? c.connect() : Promise.resolve())))
      .then(() => this.parts.bus.start())
      .then(() => this.tick());
    first.catch(() => undefined);
    // A Redis that is away does not stop the replica from starting: it starts unready and keeps trying.
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, this.options.startTimeoutMs ?? 3000).unref())]);
  }

  /** After the tunnels closed (their records went with them): the lease is given up, so the replica is gone at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.writes]);
    if (this.parts.commands.status === 'ready') await this.parts.directory.releaseLease().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    // What was sent in this turn would leave at its end, after the connection closed.
    this.parts.bus.flush();
    for (const connection of this.parts.connections) connection.disconnect();
    this.relayClient.failAll(new CallError('shutdown', 'The gateway is shutting down'));
    await Promise.resolve();
  }

  // --- the tunnel endpoint's side: this replica's sessions -------------------------------------

  add(session: TunnelSession): void {
    this.own.add(session);
  }

  remove(id: string): boolean {
    return this.own.remove(id);
  }

  async claimName(session: TunnelSession, name: string): Promise<NameClaim> {
    if (!this.leaseHeld) return { ok: false, message: CLUSTER_UNREACHABLE, retry: true };
    let claim;
    try {
      claim = await this.parts.directory.claimName(name, session.id, session.owner);
    } catch {
      return { ok: false, message: CLUSTER_UNREACHABLE, retry: true };
    }
    if (claim.kind === 'refused') {
      return claim.reason === 'owner'
        ? { ok: false, message: `Server name "${name}" is already in use by another user` }
        : { ok: false, message: CLUSTER_UNREACHABLE, retry: true };
    }
    const local = this.own.claimNow(session, name);
    if (claim.kind === 'taken') return local;
    const { sessionId, replica } = claim.previous;
    if (replica === this.replicaId) return { ok: true, replaced: this.own.get(sessionId) ?? (local.ok ? local.replaced : undefined) };
    return {
      ok: true,
      replaced: { close: (reason, code) => void this.parts.bus.send(replica, { t: 'close', session: sessionId, reason, code }) },
    };
  }

  markRegistered(session: TunnelSession): void {
    this.completed.add(session.id);
    this.own.markRegistered(session);
  }

  local(): TunnelSession[] {
    return this.own.list();
  }

  // --- the doors' side: every replica's sessions --------------------------------------------------

  get(id: string): SessionHandle | undefined {
    const local = this.own.get(id);
    if (local) return local;
    const tunnel = this.remote.get(id);
    return tunnel?.isOpen && this.holdsItsName(tunnel) ? tunnel : undefined;
  }

  /**
   * Every replica's sessions. A remote one whose name a newer session holds is left out: it is the
   * one a same-owner takeover replaced, on a replica that died before it could say so (it would
   * otherwise be listed until that replica's lease lapses).
   */
  list(): SessionHandle[] {
    const remote = [...this.remote.values()].filter((t) => t.isOpen && this.holdsItsName(t));
    return [...this.own.list(), ...remote];
  }

  byName(name: string): SessionHandle | undefined {
    return this.own.byName(name) ?? this.remoteHolder(name);
  }

  /**
   * The remote session holding `name`. Two records for one name last only while a takeover settles
   * (or until a dead replica's lease lapses): the newer connection holds it.
   */
  private remoteHolder(name: string): RemoteTunnel | undefined {
    let found: RemoteTunnel | undefined;
    for (const tunnel of this.remoteByName.get(name) ?? []) {
      if (tunnel.isOpen && (!found || tunnel.connectedAt > found.connectedAt)) found = tunnel;
    }
    return found;
  }

  /** Whether a remote session is the one its name resolves to (a superseded one is neither listed nor found). */
  private holdsItsName(tunnel: RemoteTunnel): boolean {
    return tunnel.name === undefined || this.byName(tunnel.name) === tunnel;
  }

  countByOwner(owner: string | null): number {
    let count = this.own.countByOwner(owner);
    for (const tunnel of this.remote.values()) if (tunnel.isOpen && tunnel.owner === owner) count++;
    return count;
  }

  override callsInFlight(): number {
    return super.callsInFlight() + this.relayClient.size;
  }

  override abandonCalls(error: CallError): number {
    return super.abandonCalls(error) + this.relayClient.failAll(error);
  }

  override status(): RegistryStatus {
    const sessions = this.list().length;
    if (!this.parts.bus.connected) return { ready: false, sessions, detail: 'The cluster store (Redis) cannot be reached' };
    if (!this.leaseHeld) return { ready: false, sessions, detail: 'This replica holds no cluster lease yet' };
    return { ready: true, sessions, detail: `replica ${this.replicaId}` };
  }

  override resumeElsewhere(connection: TunnelConnection, home: string, text: string): boolean {
    return this.links.carry(connection, home, text);
  }

  override serveCarriedTunnelsWith(protocol: CarriedTunnelProtocol): void {
    this.links.serveWith(protocol);
  }

  override isLiveReplica(replica: string): boolean {
    return replica === this.replicaId || this.knownReplicas.has(replica);
  }

  override remoteReplicaOf(handle: SessionHandle): string | undefined {
    return handle instanceof RemoteTunnel ? handle.replica : undefined;
  }

  override handleRelayedAsksWith(handler: RelayedAskHandler | undefined): void {
    this.relayClient.handleAsksWith(handler);
  }

  // --- keeping the directory and the mirror ---------------------------------------------------------

  /** Renews the lease (re-taking it, and re-claiming this replica's names, after a lapse), writes this replica's records, re-reads the others'. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.ticking ??= this.runTick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    if (this.parts.commands.status !== 'ready') {
      this.leaseHeld = false;
      return;
    }
    try {
      const renewed = await this.parts.directory.renewLease();
      if (!renewed) {
        // (At start-up there is nothing to hold: nothing is known yet.)
        if (this.knownReplicas.size > 0 || this.remote.size > 0) this.holdRemovalsUntil = Date.now() + this.options.leaseMs;
        await this.parts.directory.holdLease();
        // The others learn of this replica now rather than at their next re-read.
        this.parts.bus.broadcast({ t: 'hello' });
        if (this.knownReplicas.size > 0 || this.own.list().length > 0) this.report('lease-lost', 'Cluster lease had lapsed; taken again');
        await this.reclaimNames();
      } else {
        this.recovered('lease-lost', 'Cluster lease held');
      }
      this.leaseHeld = true;
      await this.parts.directory.putSessions(this.own.list().map((s) => this.recordOf(s)));
      await this.resync();
      this.recovered('redis-down', 'Cluster store reachable again');
    } catch (err) {
      this.leaseHeld = false;
      this.report('redis-down', 'Cluster store unreachable', err);
    }
  }

  /** After a lapse another replica may hold one of our names: such a tunnel is closed so that its client registers again. */
  private async reclaimNames(): Promise<void> {
    for (const session of this.own.list()) {
      if (!session.name || !session.isOpen) continue;
      const claim = await this.parts.directory.claimName(session.name, session.id, session.owner, false);
      if (claim.kind === 'refused' && claim.reason === 'owner') session.close('name taken while cut off from the cluster', 1013);
    }
  }

  private async resync(): Promise<void> {
    const startedAt = Date.now();
    const [records, replicas] = await Promise.all([this.parts.directory.listSessions(), this.parts.directory.liveReplicas()]);
    const seen = new Set<string>();
    for (const record of records) {
      if (record.replica === this.replicaId) {
        // Its tunnel closed while Redis was away, so its removal never reached the directory.
        if (!this.own.get(record.id)) this.forgetOwn(record.id, record.name);
        continue;
      }
      if ((this.removedAt.get(record.id) ?? 0) >= startedAt - this.options.leaseMs) continue;
      seen.add(record.id);
      this.putRemote(record);
    }
    const holding = startedAt < this.holdRemovalsUntil;
    for (const id of [...this.remote.keys()]) {
      if (!holding && !seen.has(id) && (this.putAt.get(id) ?? 0) < startedAt) this.removeRemote(id);
    }
    const live = new Set(replicas);
    for (const replica of [...this.knownReplicas]) {
      if (live.has(replica) || holding) continue;
      this.knownReplicas.delete(replica);
      this.logger.warn({ msg: 'Replica gone', replica });
      this.relayClient.replicaGone(replica);
      this.relayServer.replicaGone(replica);
      this.links.replicaGone(replica);
      this.departed.next(replica);
    }
    for (const replica of live) if (replica !== this.replicaId) this.knownReplicas.add(replica);
    for (const [id, at] of this.removedAt) if (at < startedAt - this.options.leaseMs) this.removedAt.delete(id);
  }

  private putRemote(record: SessionRecord): void {
    const known = this.remote.get(record.id);
    if (!known) {
      const tunnel = new RemoteTunnel(record, this.parts.bus, this.relayClient);
      this.remote.set(record.id, tunnel);
      this.indexName(tunnel, undefined);
      this.knownReplicas.add(record.replica);
      this.remoteChanges.next({ type: 'added', session: tunnel });
      if (record.state === 'ready' || record.state === 'registered') this.remoteChanges.next({ type: 'registered', session: tunnel });
      return;
    }
    const before = known.state;
    const nameBefore = known.name;
    const suspendedBefore = known.suspended;
    const rulesBefore = JSON.stringify(known.access.toJSON());
    known.update(record);
    if (known.name !== nameBefore) this.indexName(known, nameBefore);
    // Registration completes once per connection: from `connected` straight to `ready` (or `registered`, handshake failed).
    if (before === 'connected' && (record.state === 'ready' || record.state === 'registered')) {
      this.remoteChanges.next({ type: 'registered', session: known });
    } else if (known.suspended !== suspendedBefore || JSON.stringify(known.access.toJSON()) !== rulesBefore) {
      // Records are re-read every third of the lease with fresh counters: only what the list shows is a change.
      this.remoteChanges.next({ type: 'updated', session: known });
    }
  }

  private removeRemote(id: string, reason = 'The tunnel closed'): void {
    const tunnel = this.remote.get(id);
    if (!tunnel) return;
    this.remote.delete(id);
    this.unindexName(tunnel, tunnel.name);
    this.putAt.delete(id);
    tunnel.markGone();
    this.relayClient.sessionGone(id, reason);
    this.remoteChanges.next({ type: 'removed', session: tunnel });
  }

  private indexName(tunnel: RemoteTunnel, previous: string | undefined): void {
    this.unindexName(tunnel, previous);
    if (tunnel.name === undefined) return;
    let holders = this.remoteByName.get(tunnel.name);
    if (!holders) this.remoteByName.set(tunnel.name, (holders = new Set()));
    holders.add(tunnel);
  }

  private unindexName(tunnel: RemoteTunnel, name: string | undefined): void {
    if (name === undefined) return;
    const holders = this.remoteByName.get(name);
    holders?.delete(tunnel);
    if (holders?.size === 0) this.remoteByName.delete(name);
  }

  /** The inner registry announces it (`updated`), which publishes the record (publishOwn). */
  override markSuspended(session: TunnelSession): void {
    this.own.markSuspended(session);
  }

  /** Suspended sessions of this owner on every replica: a resume may land on any of them (tunnel-admission.ts). */
  override suspendedByOwner(owner: string | null): number {
    let count = super.suspendedByOwner(owner);
    for (const tunnel of this.remote.values()) if (tunnel.isOpen && tunnel.owner === owner && tunnel.suspended) count++;
    return count;
  }

  /**
   * This replica's session: the inner registry replaces the rules and announces it (`updated`, which
   * publishes the record). Another replica's: the rules go there, and are in effect here at once.
   */
  override share(session: SessionHandle, rules: AccessRules): boolean {
    if (this.own.get(session.id) === session) return this.own.share(session, rules);
    if (!super.share(session, rules)) return false;
    this.remoteChanges.next({ type: 'updated', session });
    return true;
  }

  /** Rules another replica decided for one of this replica's sessions (sealed: a replica sent them). */
  private shareOwn(id: string, data: unknown): void {
    const session = this.own.get(id);
    if (!session) return;
    let rules: AccessRules;
    try {
      rules = AccessRules.from(data);
    } catch {
      return;
    }
    this.own.share(session, rules);
  }

  /** This replica's sessions go to the directory and every other replica at once. */
  private publishOwn(change: RegistryChange): void {
    const session = this.own.get(change.session.id) ?? (change.session as TunnelSession);
    if (change.type === 'removed') {
      this.completed.delete(session.id);
      this.forgetOwn(session.id, session.name);
      return;
    }
    this.publishRecord(session);
  }

  private publishRecord(session: TunnelSession): void {
    const record = this.recordOf(session);
    this.parts.bus.broadcast({ t: 'directory', put: { ...record, replica: this.replicaId, connectedAt: record.connectedAt.getTime() } });
    this.write(() => this.parts.directory.putSession(record));
  }

  /** One of this replica's sessions is gone: every other replica and the directory hear it, and its name is freed. */
  private forgetOwn(id: string, name: string | undefined): void {
    this.parts.bus.broadcast({ t: 'directory', removed: id });
    this.write(async () => {
      await this.parts.directory.removeSession(id);
      if (name) await this.parts.directory.releaseName(name, id);
    });
  }

  private write(operation: () => Promise<unknown>): void {
    if (this.parts.commands.status !== 'ready') return; // the next tick after Redis is back writes everything again
    const pending = operation().catch(() => undefined);
    this.writes.add(pending);
    void pending.finally(() => this.writes.delete(pending));
  }

  private onMessage(from: string, message: RelayMessage): void {
    // Sealed with the cluster's secret: the sender is a replica, and alive.
    this.knownReplicas.add(from);
    try {
      if (this.relayClient.receive(from, message) || this.relayServer.receive(from, message) || this.links.receive(from, message)) return;
      if (message.t === 'share') {
        this.shareOwn(message.session, message.rules);
        return;
      }
      if (message.t !== 'directory') return;
      if (message.put) {
        const record = recordFromJson(message.put);
        if (record.replica !== from) return;
        this.removedAt.delete(record.id);
        this.putAt.set(record.id, Date.now());
        this.putRemote(record);
      } else if (message.removed && this.remote.get(message.removed)?.replica === from) {
        this.removedAt.set(message.removed, Date.now());
        this.removeRemote(message.removed);
      }
    } catch (err) {
      this.logger.error({ msg: 'Relay message failed', from, type: message.t, error: String(err) });
    }
  }

  private onRedisLost(): void {
    if (this.stopped) return;
    this.leaseHeld = false;
    // Answers on the way may have been lost with the connection: better a fast 503 than a wait for nothing.
    const failed = this.relayClient.failAll(new CallError('unreachable', CLUSTER_UNREACHABLE));
    this.links.failAll();
    this.report('redis-down', 'Cluster store connection lost', undefined, failed);
  }

  private async onRedisBack(): Promise<void> {
    if (this.stopped) return;
    await this.parts.bus.start().catch(() => undefined);
    this.relayClient.rewatch();
    await this.tick();
  }

  /** What the directory keeps of one of this replica's sessions; `connected` until its registration completed. */
  private recordOf(session: TunnelSession): Omit<SessionRecord, 'replica'> {
    return {
      id: session.id,
      owner: session.owner,
      name: session.name,
      server: session.server && { ...session.server },
      connectedAt: session.connectedAt,
      state: this.completed.has(session.id) || session.state === 'closed' ? session.state : 'connected',
      ...(session.access === AccessRules.ONLY_OWNER ? {} : { access: session.access.toJSON() }),
      ...(session.suspended ? { suspended: true } : {}),
      counters: {
        messagesIn: session.messagesIn,
        messagesOut: session.messagesOut,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
        pendingCount: session.pendingCount,
        lastActivity: session.lastActivity,
      },
    };
  }

  private report(condition: Condition, msg: string, err?: unknown, failedCalls?: number): void {
    if (this.conditions.has(condition)) return;
    this.conditions.add(condition);
    this.logger.warn({
      msg,
      replica: this.replicaId,
      ...(err ? { error: err instanceof Error ? err.message : 'unknown' } : {}),
      ...(failedCalls ? { failedCalls } : {}),
    });
  }

  private recovered(condition: Condition, msg: string): void {
    if (!this.conditions.delete(condition)) return;
    this.logger.log({ msg, replica: this.replicaId });
  }
}

function recordFromJson(json: SessionRecordJson): SessionRecord {
  return { ...json, connectedAt: new Date(json.connectedAt) };
}
