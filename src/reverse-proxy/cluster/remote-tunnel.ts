import type { Observable } from 'rxjs';
import { AccessRules } from '../../auth/access-rules.js';
import type { RegisteredServer } from '../../protocol/envelopes.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { TunnelCaller } from '../tunnel/call-context.js';
import { CallError, CLUSTER_UNREACHABLE } from '../tunnel/call-error.js';
import type { ServerRequestRouter } from '../tunnel/server-request-router.js';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { SessionHandle, SessionState, TunnelHandle, TunnelInfo } from '../tunnel/tunnel-handle.js';
import type { ClusterBus } from './cluster-bus.js';
import type { SessionRecord } from './cluster-directory.js';
import type { RelayClient } from './relay-client.js';

/**
 * A tunnel held by another replica, as the doors of this one see it: the same handle as a local
 * `TunnelSession`, its description from the cluster directory, every verb relayed over Redis to the
 * replica holding the tunnel. Calls it relays are known here by relay ids (`r-<n>`).
 */
export class RemoteTunnel implements SessionHandle {
  private current: SessionRecord;
  /** The record's access rules, validated once per record. */
  private rules: AccessRules;
  readonly events$: Observable<SessionEvent>;
  readonly notifications$: Observable<SessionEvent>;

  constructor(
    record: SessionRecord,
    private readonly bus: ClusterBus,
    private readonly relay: RelayClient,
  ) {
    this.current = record;
    this.rules = rulesOf(record);
    this.events$ = relay.events(record.replica, record.id, 'all');
    this.notifications$ = relay.events(record.replica, record.id, 'notifications');
  }

  get id(): string {
    return this.current.id;
  }
  get replica(): string {
    return this.current.replica;
  }
  get owner(): string | null {
    return this.current.owner;
  }
  get name(): string | undefined {
    return this.current.name;
  }
  get server(): Readonly<RegisteredServer> | undefined {
    return this.current.server;
  }
  get state(): SessionState {
    return this.current.state;
  }
  get connectedAt(): Date {
    return this.current.connectedAt;
  }
  /** Open while the directory lists it. */
  get isOpen(): boolean {
    return this.current.state !== 'closed';
  }
  get closeReason(): string | undefined {
    return this.isOpen ? undefined : 'closed';
  }
  /** Calls in flight on the tunnel: this replica's own, or the owner's count at its last directory write if larger. */
  get pendingCount(): number {
    return Math.max(this.relay.countFor(this.id), this.current.counters.pendingCount);
  }

  /** Whether the session waits for a resume, as its replica last wrote it. */
  get suspended(): boolean {
    return this.current.suspended === true;
  }

  /** Who besides the owner may use the server, as its replica last wrote it. */
  get access(): AccessRules {
    return this.rules;
  }

  /** Takes a newer directory record of the same session. */
  update(record: SessionRecord): void {
    if (record.id !== this.current.id) return;
    this.current = record;
    this.rules = rulesOf(record);
  }

  /** New access rules, decided here (owner or admin), applied by the replica holding the tunnel; in effect here at once. */
  share(rules: AccessRules): void {
    this.bus.send(this.replica, { t: 'share', session: this.id, rules: rules.toJSON() });
    this.current = { ...this.current, access: rules.toJSON() };
    this.rules = rules;
  }

  /** The directory no longer lists the session. */
  markGone(): void {
    this.current = { ...this.current, state: 'closed' };
  }

  isReady(): this is TunnelHandle {
    return this.current.state === 'ready' && this.current.name !== undefined && this.current.server !== undefined;
  }

  info(): TunnelInfo {
    const { counters } = this.current;
    return {
      id: this.id,
      name: this.name,
      owner: this.owner,
      state: this.current.state,
      server: this.current.server && { ...this.current.server },
      connectedAt: this.connectedAt,
      lastActivity: counters.lastActivity,
      messagesIn: counters.messagesIn,
      messagesOut: counters.messagesOut,
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      pendingCount: this.pendingCount,
      suspended: this.suspended,
    };
  }

  call(request: JsonRpcRequest, timeoutMs: number, caller?: TunnelCaller): Promise<JsonRpcResponse> {
    if (!this.isOpen) return Promise.reject(new CallError('closed', 'The tunnel is closed'));
    return this.relay.call(this.replica, this.id, request, timeoutMs, caller);
  }

  forward(payload: JsonRpcMessage): void {
    if (!this.isOpen) throw new CallError('closed', 'The tunnel is closed');
    if (!this.bus.send(this.replica, { t: 'forward', session: this.id, payload })) throw new CallError('unreachable', CLUSTER_UNREACHABLE);
  }

  tryForward(payload: JsonRpcMessage): boolean {
    return this.isOpen && this.bus.send(this.replica, { t: 'forward', session: this.id, payload });
  }

  publish(event: SessionEvent): void {
    this.bus.send(this.replica, { t: 'publish', session: this.id, event });
  }

  cancel(tunnelId: string, reason: string): boolean {
    return this.relay.cancel(this.id, tunnelId, reason);
  }

  cancelCallsOf(callerKey: string, reason: string): number {
    return this.relay.cancelCallsOf(this.replica, this.id, callerKey, reason);
  }

  /** The tunnel's own calls are abandoned by the replica holding it, when it drains. */
  abandonCalls(): number {
    return 0;
  }

  findCall(callerKey: string, callerRequestId: JsonRpcId): string | undefined {
    return this.relay.findCall(this.id, callerKey, callerRequestId);
  }

  findCaller(callerKey: string): TunnelCaller | undefined {
    return this.relay.findCaller(this.id, callerKey);
  }

  addStreamSubscriber(): () => void {
    this.bus.send(this.replica, { t: 'follow', session: this.id, on: true });
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.bus.send(this.replica, { t: 'follow', session: this.id, on: false });
    };
  }

  /** Server requests are routed where the tunnel is; the replica holding it installs its own router. */
  routeServerRequestsWith(router: ServerRequestRouter | undefined): void {
    void router;
  }

  close(reason: string, code?: number): void {
    this.bus.send(this.replica, { t: 'close', session: this.id, reason, ...(code === undefined ? {} : { code }) });
  }
}

/** A record's rules; malformed ones (a replica of another version, say) fall back to only the owner. */
function rulesOf(record: SessionRecord): AccessRules {
  if (record.access === undefined) return AccessRules.ONLY_OWNER;
  try {
    return AccessRules.from(record.access);
  } catch {
    return AccessRules.ONLY_OWNER;
  }
}
