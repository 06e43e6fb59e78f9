import { Subject, type Observable } from 'rxjs';
import type { ClusterBus } from '../../src/reverse-proxy/cluster/cluster-bus.js';
import type { ReceivedRelay, RelayMessage } from '../../src/reverse-proxy/cluster/relay-envelope.js';
import { RelayClient, type RelayClientLimits } from '../../src/reverse-proxy/cluster/relay-client.js';
import { RelayServer } from '../../src/reverse-proxy/cluster/relay-server.js';
import type { TunnelSession } from '../../src/reverse-proxy/tunnel/tunnel-session.js';

/** One message a replica handed to the fake bus. */
export interface Transmission {
  from: string;
  /** The replica it was sent to, or `*` for a broadcast. */
  to: string;
  message: RelayMessage;
  /** False when the network dropped it (see `FakeClusterNetwork.drop`) or nobody listens at `to`. */
  delivered: boolean;
}

type MessageOf<T extends RelayMessage['t']> = Extract<RelayMessage, { t: T }>;

/**
 * In-process stand-in for Redis pub/sub between replicas: every `FakeClusterBus` made from one
 * network reaches the others. Delivery is like Redis's: asynchronous (never inside `send`), in order,
 * at most once, each message a JSON copy of what was sent. Tests can take a bus off the network
 * (`up = false`: `send` returns false, like a publisher that is not ready), drop messages, and read
 * the log of everything sent.
 */
export class FakeClusterNetwork {
  /** Everything every replica sent, in order. */
  readonly log: Transmission[] = [];
  private readonly buses = new Map<string, FakeClusterBus>();
  private dropping: ((t: Omit<Transmission, 'delivered'>) => boolean) | undefined;
  private inFlight = 0;

  /** The bus of replica `id` (made on first use). */
  bus(id: string): FakeClusterBus {
    let bus = this.buses.get(id);
    if (!bus) {
      bus = new FakeClusterBus(id, this);
      this.buses.set(id, bus);
    }
    return bus;
  }

  /** Drops (without telling the sender) every message `match` picks from now on; `undefined` stops dropping. */
  drop(match: ((t: Omit<Transmission, 'delivered'>) => boolean) | undefined): void {
    this.dropping = match;
  }

  /** Messages of type `t` sent so far (optionally only from `from` to `to`). */
  sent<T extends RelayMessage['t']>(t: T, from?: string, to?: string): MessageOf<T>[] {
    return this.log
      .filter((s) => s.message.t === t && (from === undefined || s.from === from) && (to === undefined || s.to === to))
      .map((s) => s.message as MessageOf<T>);
  }

  /** Waits until nothing is on its way and a few more turns of the microtask queue pass quietly (works under fake timers). */
  async flush(quietTurns = 20): Promise<void> {
    for (let quiet = 0; quiet < quietTurns;) {
      await Promise.resolve();
      quiet = this.inFlight > 0 ? 0 : quiet + 1;
    }
  }

  /** @internal */
  transmit(from: FakeClusterBus, to: string, message: RelayMessage): boolean {
    if (!from.up) return false;
    const targets = to === '*' ? [...this.buses.values()].filter((b) => b !== from) : [this.buses.get(to)].filter((b) => b !== undefined);
    const dropped = this.dropping?.({ from: from.replicaId, to, message }) ?? false;
    this.log.push({ from: from.replicaId, to, message, delivered: !dropped && targets.length > 0 });
    if (dropped) return true;
    const text = JSON.stringify(message);
    for (const target of targets) {
      this.inFlight++;
      void Promise.resolve().then(() => {
        this.inFlight--;
        target.deliver({ from: from.replicaId, message: JSON.parse(text) as RelayMessage });
      });
    }
    return true;
  }
}

/** One replica's end of a FakeClusterNetwork: the part of ClusterBus the relay uses. */
export class FakeClusterBus {
  /** Whether the bus can send (false: Redis is away for this replica). */
  up = true;
  private readonly received = new Subject<ReceivedRelay>();
  readonly messages$: Observable<ReceivedRelay> = this.received.asObservable();
  /** Everything this replica received, in order. */
  readonly inbox: ReceivedRelay[] = [];

  constructor(
    readonly replicaId: string,
    private readonly network: FakeClusterNetwork,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  send(replica: string, message: RelayMessage): boolean {
    return this.network.transmit(this, replica, message);
  }

  broadcast(message: RelayMessage): boolean {
    return this.network.transmit(this, '*', message);
  }

  /** This fake where the relay wants a ClusterBus. */
  asBus(): ClusterBus {
    return this as unknown as ClusterBus;
  }

  /** What this replica received of type `t`, optionally only from `from`. */
  got<T extends RelayMessage['t']>(t: T, from?: string): MessageOf<T>[] {
    return this.inbox.filter((r) => r.message.t === t && (from === undefined || r.from === from)).map((r) => r.message as MessageOf<T>);
  }

  /** @internal */
  deliver(received: ReceivedRelay): void {
    if (!this.up) return; // its subscriber connection is down too: the message is lost
    this.inbox.push(received);
    this.received.next(received);
  }
}

/**
 * A gateway replica as far as the relay goes: its bus, a RelayClient (calling side), a RelayServer
 * (tunnel side) over the TunnelSessions it holds, wired like ClusterSessionRegistry wires them.
 */
export class RelayReplica {
  readonly bus: FakeClusterBus;
  readonly client: RelayClient;
  readonly server: RelayServer;
  /** This replica's own tunnels, by id. */
  readonly sessions = new Map<string, TunnelSession>();

  constructor(network: FakeClusterNetwork, id: string, limits: RelayClientLimits = { maxCalls: 100, deadlineMarginMs: 50 }) {
    this.bus = network.bus(id);
    this.client = new RelayClient(this.bus.asBus(), limits);
    this.server = new RelayServer(this.bus.asBus(), (sessionId) => this.sessions.get(sessionId));
    this.bus.messages$.subscribe(({ from, message }) => {
      if (!this.client.receive(from, message)) this.server.receive(from, message);
    });
  }

  get id(): string {
    return this.bus.replicaId;
  }

  /** Holds `session` here (its relay server serves it); it leaves when it closes, as in the registry. */
  hold(session: TunnelSession): TunnelSession {
    this.sessions.set(session.id, session);
    session.events$.subscribe({ complete: () => this.sessions.delete(session.id) });
    return session;
  }
}
