import { Observable, Subject } from 'rxjs';
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import { SERVER_REQUEST_METHODS } from '../../protocol/server-request-capabilities.js';
import type { TunnelCaller } from '../tunnel/call-context.js';
import { CallError, CLUSTER_UNREACHABLE } from '../tunnel/call-error.js';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { RelayedAskHandler } from '../tunnel/session-registry.js';
import type { ClusterBus } from './cluster-bus.js';
import { relayedPrincipal, type RelayMessage } from './relay-envelope.js';

/** Limits of the calling side of the relay. */
export interface RelayClientLimits {
  /** Calls this replica may have in flight through other replicas at once. */
  maxCalls: number;
  /** Extra wait past a call's own timeout before the calling side gives up by itself (the answer was lost). */
  deadlineMarginMs: number;
}

/** Which of a tunnel's events a replica follows: everything (an SSE stream), or what the MCP fan-out needs. */
export type WatchLevel = 'all' | 'notifications';

export type ReplyToTunnel = (answer: JsonRpcResponse) => void;

interface RelayedCall {
  id: string;
  session: string;
  replica: string;
  callerRequestId: JsonRpcId;
  caller: TunnelCaller | undefined;
  resolve: (response: JsonRpcResponse) => void;
  reject: (error: CallError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Watch {
  replica: string;
  all: Subject<SessionEvent>;
  notifications: Subject<SessionEvent>;
  allCount: number;
  notificationCount: number;
  /** The level the owner was last told. */
  told: WatchLevel | 'none';
}

/** A call's relay id (`r-<n>`) as a number, or NaN. */
function relaySeq(id: string): number {
  return id.startsWith('r-') ? Number(id.slice(2)) : NaN;
}

/**
 * The calling side of the relay: sends calls for tunnels held by other replicas and correlates their
 * answers, carries progress and server requests back to the caller, and follows the tunnels' events
 * for this replica's SSE streams and MCP sessions (one watch per tunnel, shared).
 */
export class RelayClient {
  private seq = 0;
  private readonly calls = new Map<number, RelayedCall>();
  private readonly watches = new Map<string, Watch>();
  private askHandler: RelayedAskHandler | undefined;

  constructor(
    private readonly bus: ClusterBus,
    private readonly limits: RelayClientLimits,
  ) {}

  /** Calls in flight through other replicas. */
  get size(): number {
    return this.calls.size;
  }

  /** Installs who answers server requests for this replica's callers (the MCP door). */
  handleAsksWith(handler: RelayedAskHandler | undefined): void {
    this.askHandler = handler;
  }

  /** Relays a call to the tunnel `session` held by `replica`; see SessionHandle.call. */
  call(replica: string, session: string, request: JsonRpcRequest, timeoutMs: number, caller?: TunnelCaller): Promise<JsonRpcResponse> {
    if (this.calls.size >= this.limits.maxCalls) {
      throw new CallError('busy', `Too many requests in flight through other gateway replicas (limit ${this.limits.maxCalls})`);
    }
    const seq = ++this.seq;
    const message: RelayMessage = {
      t: 'call',
      session,
      call: seq,
      request,
      timeoutMs,
      ...(caller
        ? {
            caller: {
              key: caller.key,
              progress: true,
              answers: SERVER_REQUEST_METHODS.filter((m) => caller.canAnswer?.(m)),
              ...(caller.principal ? { principal: relayedPrincipal(caller.principal) } : {}),
            },
          }
        : {}),
    };
    if (!this.bus.send(replica, message)) return Promise.reject(new CallError('unreachable', CLUSTER_UNREACHABLE));
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      // The owner enforces the deadline and answers `failed`; this one only covers a lost answer.
      const timer = setTimeout(() => {
        if (!this.calls.delete(seq)) return;
        this.bus.send(replica, { t: 'cancel', session, call: seq, reason: 'Request timed out at the gateway' });
        reject(new CallError('timeout', `No answer from the tunnel within ${timeoutMs} ms`));
      }, timeoutMs + this.limits.deadlineMarginMs);
      this.calls.set(seq, { id: `r-${seq}`, session, replica, callerRequestId: request.id, caller, resolve, reject, timer });
    });
  }

  /** Gives up on one relayed call (`r-<n>`); the owner tells the server. */
  cancel(session: string, id: string, reason: string): boolean {
    const seq = relaySeq(id);
    const call = this.calls.get(seq);
    if (!call || call.session !== session) return false;
    this.settle(seq)?.reject(new CallError('cancelled', reason));
    this.bus.send(call.replica, { t: 'cancel', session, call: seq, reason });
    return true;
  }

  /** Gives up on every call `callerKey` has in flight on `session`; returns how many there were here. */
  cancelCallsOf(replica: string, session: string, callerKey: string, reason: string): number {
    let count = 0;
    for (const [seq, call] of this.calls) {
      if (call.session !== session || call.caller?.key !== callerKey) continue;
      this.settle(seq)?.reject(new CallError('cancelled', reason));
      count++;
    }
    this.bus.send(replica, { t: 'cancel-caller', session, callerKey, reason });
    return count;
  }

  /** The relay id of the call `callerKey` made with its own id on `session`, while in flight. */
  findCall(session: string, callerKey: string, callerRequestId: JsonRpcId): string | undefined {
    for (const call of this.calls.values()) {
      if (call.session === session && call.caller?.key === callerKey && call.callerRequestId === callerRequestId) return call.id;
    }
    return undefined;
  }

  /** The caller with this key among this replica's calls in flight on `session`, most recent first. */
  findCaller(session: string, callerKey: string): TunnelCaller | undefined {
    let found: TunnelCaller | undefined;
    for (const call of this.calls.values()) if (call.session === session && call.caller?.key === callerKey) found = call.caller;
    return found;
  }

  /** Calls in flight on one tunnel. */
  countFor(session: string): number {
    let count = 0;
    for (const call of this.calls.values()) if (call.session === session) count++;
    return count;
  }

  /**
   * The events of tunnel `session` held by `replica`, hot: the owner starts sending them with the
   * first subscriber of this replica and stops with the last. Completes after `closed`.
   */
  events(replica: string, session: string, level: WatchLevel): Observable<SessionEvent> {
    return new Observable<SessionEvent>((subscriber) => {
      let watch = this.watches.get(session);
      if (!watch) {
        watch = { replica, all: new Subject(), notifications: new Subject(), allCount: 0, notificationCount: 0, told: 'none' };
        this.watches.set(session, watch);
      }
      const subject = level === 'all' ? watch.all : watch.notifications;
      const subscription = subject.subscribe(subscriber);
      if (level === 'all') watch.allCount++;
      else watch.notificationCount++;
      this.tellOwner(session, watch);
      return () => {
        subscription.unsubscribe();
        if (level === 'all') watch.allCount--;
        else watch.notificationCount--;
        if (watch.allCount + watch.notificationCount === 0) this.watches.delete(session);
        this.tellOwner(session, watch);
      };
    });
  }

  /** Tells every owner again what this replica watches (after Redis came back: messages may have been lost). */
  rewatch(): void {
    for (const [session, watch] of this.watches) {
      watch.told = 'none';
      this.tellOwner(session, watch);
    }
  }

  /** Takes a message meant for the calling side; false when it is not one. */
  receive(from: string, message: RelayMessage): boolean {
    switch (message.t) {
      case 'answer': {
        const call = this.calls.get(message.call);
        if (call?.replica !== from) return true;
        this.settle(message.call)?.resolve({ ...message.response, id: call.callerRequestId });
        return true;
      }
      case 'failed': {
        const call = this.calls.get(message.call);
        if (call?.replica !== from) return true;
        this.settle(message.call)?.reject(new CallError(message.reason, message.message));
        return true;
      }
      case 'progress': {
        const call = this.calls.get(message.call);
        if (call?.replica === from) call.caller?.onProgress(message.notification, call.callerRequestId);
        return true;
      }
      case 'ask': {
        this.ask(from, message.call, message.session, message.request);
        return true;
      }
      case 'event': {
        const watch = this.watches.get(message.session);
        if (watch?.replica !== from) return true;
        const { event } = message;
        watch.all.next(event);
        if (event.type === 'notification' || event.type === 'closed') watch.notifications.next(event);
        if (event.type === 'closed') this.endWatch(message.session, watch);
        return true;
      }
      default:
        return false;
    }
  }

  /** A replica is gone: its tunnels' calls fail as closed, their event streams end. */
  replicaGone(replica: string): void {
    this.failWhere((call) => call.replica === replica, new CallError('closed', 'The tunnel closed (its gateway replica stopped)'));
    for (const [session, watch] of [...this.watches]) {
      if (watch.replica !== replica) continue;
      const closed: SessionEvent = { type: 'closed', reason: 'gateway replica stopped' };
      watch.all.next(closed);
      watch.notifications.next(closed);
      this.endWatch(session, watch);
    }
  }

  /** A tunnel left the directory: its event streams end (its calls are answered by its owner, or run out). */
  sessionGone(session: string, reason: string): void {
    const watch = this.watches.get(session);
    if (!watch) return;
    const closed: SessionEvent = { type: 'closed', reason };
    watch.all.next(closed);
    watch.notifications.next(closed);
    this.endWatch(session, watch);
  }

  /** Fails every relayed call: Redis is away, so their answers cannot arrive. */
  failAll(error: CallError): number {
    return this.failWhere(() => true, error);
  }

  private failWhere(match: (call: RelayedCall) => boolean, error: CallError): number {
    let count = 0;
    for (const [seq, call] of [...this.calls]) {
      if (!match(call)) continue;
      this.settle(seq)?.reject(error);
      count++;
    }
    return count;
  }

  private ask(from: string, seq: number, session: string, request: JsonRpcRequest): void {
    const call = this.calls.get(seq);
    const reply: ReplyToTunnel = (answer) => void this.bus.send(from, { t: 'forward', session, payload: answer });
    if (!call || call.replica !== from || !call.caller || !this.askHandler) {
      reply({ jsonrpc: '2.0', id: request.id, error: { code: -32601, message: `No client can handle ${request.method} right now` } });
      return;
    }
    this.askHandler({ caller: call.caller, request, relatedRequestId: call.callerRequestId, tunnelId: session }, reply);
  }

  private endWatch(session: string, watch: Watch): void {
    if (this.watches.get(session) === watch) this.watches.delete(session);
    watch.all.complete();
    watch.notifications.complete();
  }

  private tellOwner(session: string, watch: Watch): void {
    const level: WatchLevel | 'none' = watch.allCount > 0 ? 'all' : watch.notificationCount > 0 ? 'notifications' : 'none';
    if (level === watch.told) return;
    watch.told = level;
    this.bus.send(watch.replica, { t: 'watch', session, level });
  }

  private settle(seq: number): RelayedCall | undefined {
    const call = this.calls.get(seq);
    if (!call) return undefined;
    clearTimeout(call.timer);
    this.calls.delete(seq);
    return call;
  }
}
