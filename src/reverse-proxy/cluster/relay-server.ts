import type { Subscription } from 'rxjs';
import { roleAllows } from '../../auth/access-rules.js';
import { sessionRole } from '../tunnel/session-access.js';
import { isObject, type JsonRpcRequest } from '../../protocol/json-rpc.js';
import { CallError } from '../tunnel/call-error.js';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import type { ClusterBus } from './cluster-bus.js';
import type { RelayedCallerInfo, RelayMessage } from './relay-envelope.js';
import { RelayedCaller } from './relayed-caller.js';

type Level = 'all' | 'notifications';

interface ServedCall {
  session: TunnelSession;
  caller: RelayedCaller;
}

/**
 * The tunnel side of the relay: carries out what other replicas ask of this replica's tunnels
 * (calls, forwards, cancels, closes), sends the answers back, and sends each watching replica the
 * tunnel's events it asked for.
 */
export class RelayServer {
  /** Calls relayed to this replica in flight, by `<replica>:<call>`. */
  private readonly served = new Map<string, ServedCall>();
  /** Per tunnel: which replicas watch it, at what level, and the one subscription feeding them. */
  private readonly watchers = new Map<string, { levels: Map<string, Level>; subscription: Subscription }>();
  /** Per `<replica>:<session>`: removals of the SSE followers that replica counted on the tunnel, and the watch on its end. */
  private readonly follows = new Map<string, { removals: (() => void)[]; ended: Subscription }>();

  constructor(
    private readonly bus: ClusterBus,
    /** This replica's open tunnel with this id. */
    private readonly local: (id: string) => TunnelSession | undefined,
  ) {}

  /** Calls from other replicas in flight here. */
  get size(): number {
    return this.served.size;
  }

  /** Takes a message meant for the tunnel side; false when it is not one. */
  receive(from: string, message: RelayMessage): boolean {
    switch (message.t) {
      case 'call':
        this.call(from, message.session, message.call, message.request, message.timeoutMs, message.caller);
        return true;
      case 'cancel': {
        const served = this.served.get(`${from}:${message.call}`);
        const tunnelId = served?.session.inFlight().find((call) => call.context.caller === served.caller)?.tunnelId;
        if (served && tunnelId) served.session.cancel(tunnelId, message.reason.slice(0, 200));
        return true;
      }
      case 'cancel-caller':
        this.local(message.session)?.cancelCallsOf(message.callerKey, message.reason.slice(0, 200));
        return true;
      case 'forward':
        if (isObject(message.payload)) this.local(message.session)?.tryForward(message.payload);
        return true;
      case 'publish':
        this.local(message.session)?.publish(message.event);
        return true;
      case 'watch':
        this.watch(from, message.session, message.level);
        return true;
      case 'follow':
        this.follow(from, message.session, message.on);
        return true;
      case 'close':
        this.local(message.session)?.close(message.reason.slice(0, 200), message.code);
        return true;
      default:
        return false;
    }
  }

  /** A replica is gone: its calls here are cancelled at the server, its watches and followers dropped. */
  replicaGone(replica: string): void {
    for (const [key, served] of [...this.served]) {
      if (served.caller.replica !== replica) continue;
      this.served.delete(key);
      const tunnelId = served.session.inFlight().find((call) => call.context.caller === served.caller)?.tunnelId;
      if (tunnelId) served.session.cancel(tunnelId, 'The caller is gone');
    }
    for (const session of [...this.watchers.keys()]) this.watch(replica, session, 'none');
    for (const key of [...this.follows.keys()]) {
      if (key.startsWith(`${replica}:`)) this.dropFollows(key);
    }
  }

  private call(
    from: string,
    sessionId: string,
    seq: number,
    request: JsonRpcRequest,
    timeoutMs: number,
    info: RelayedCallerInfo | undefined,
  ): void {
    const session = this.local(sessionId);
    if (!session?.isOpen) {
      this.bus.send(from, { t: 'failed', call: seq, reason: 'closed', message: 'The tunnel closed' });
      return;
    }
    // Authorised here as a local call would be: the entry replica's check was made on its view of the directory.
    const principal = info?.principal && { ...info.principal, via: info.principal.via ?? 'jwt' };
    if (principal && !roleAllows(sessionRole(session, principal), 'use')) {
      this.bus.send(from, { t: 'failed', call: seq, reason: 'closed', message: 'Not authorized for this server' });
      return;
    }
    const key = `${from}:${seq}`;
    const caller = new RelayedCaller(
      info?.key ?? `relay:${key}`,
      from,
      Array.isArray(info?.answers) ? info.answers : [],
      {
        progress: (notification) => void this.bus.send(from, { t: 'progress', call: seq, notification }),
        ask: (askRequest) => void this.bus.send(from, { t: 'ask', call: seq, session: sessionId, request: askRequest }),
      },
      principal,
    );
    let answer: Promise<unknown>;
    try {
      answer = session.call(request, timeoutMs, caller);
    } catch (err) {
      this.fail(from, seq, err);
      return;
    }
    this.served.set(key, { session, caller });
    answer.then(
      (response) => {
        if (this.served.delete(key)) this.bus.send(from, { t: 'answer', call: seq, response: response as never });
      },
      (err: unknown) => {
        if (this.served.delete(key)) this.fail(from, seq, err);
      },
    );
  }

  private fail(to: string, seq: number, err: unknown): void {
    const error = err instanceof CallError ? err : new CallError('closed', 'The tunnel closed');
    this.bus.send(to, { t: 'failed', call: seq, reason: error.reason, message: error.message });
  }

  private watch(from: string, sessionId: string, level: Level | 'none'): void {
    let entry = this.watchers.get(sessionId);
    if (level === 'none') {
      if (!entry?.levels.delete(from)) return;
      if (entry.levels.size === 0) {
        entry.subscription.unsubscribe();
        this.watchers.delete(sessionId);
      }
      return;
    }
    const session = this.local(sessionId);
    if (!session) {
      // Gone already: the watcher hears it, so its streams end.
      this.bus.send(from, { t: 'event', session: sessionId, event: { type: 'closed', reason: 'The tunnel closed' } });
      return;
    }
    if (!entry) {
      const levels = new Map<string, Level>();
      const subscription = session.events$.subscribe({
        next: (event) => this.fanOut(sessionId, levels, event),
        complete: () => this.watchers.delete(sessionId),
      });
      entry = { levels, subscription };
      if (session.isOpen) this.watchers.set(sessionId, entry);
    }
    entry.levels.set(from, level);
  }

  private fanOut(sessionId: string, levels: Map<string, Level>, event: SessionEvent): void {
    const minor = event.type === 'response' || event.type === 'request' || event.type === 'call';
    for (const [replica, level] of levels) {
      if (minor && level !== 'all') continue;
      this.bus.send(replica, { t: 'event', session: sessionId, event });
    }
  }

  private follow(from: string, sessionId: string, on: boolean): void {
    const key = `${from}:${sessionId}`;
    if (!on) {
      const follow = this.follows.get(key);
      follow?.removals.pop()?.();
      if (follow?.removals.length === 0) this.dropFollows(key);
      return;
    }
    const session = this.local(sessionId);
    if (!session?.isOpen) return;
    let follow = this.follows.get(key);
    if (!follow) {
      // The counts go with the tunnel (one subscription per key, not per follow: it would stay until the tunnel closes).
      follow = { removals: [], ended: session.events$.subscribe({ complete: () => this.follows.delete(key) }) };
      this.follows.set(key, follow);
    }
    follow.removals.push(session.addStreamSubscriber());
  }

  private dropFollows(key: string): void {
    const follow = this.follows.get(key);
    this.follows.delete(key);
    follow?.ended.unsubscribe();
    for (const remove of follow?.removals ?? []) remove();
  }
}
