import type { Redis } from 'ioredis';
import { Subject, type Observable } from 'rxjs';
import type { ReceivedRelay, RelayMessage, RelaySeal } from './relay-envelope.js';

/** Options of the bus: two connections the caller owns (a subscribed connection can only listen). */
export interface ClusterBusOptions {
  /** Publishes; created with `enableOfflineQueue: false`, so that nothing waits for a Redis that is away. */
  publisher: Redis;
  /** Listens on this replica's channel and the cluster's broadcast channel. */
  subscriber: Redis;
  seal: RelaySeal;
  /** Key and channel prefix of the cluster. */
  prefix: string;
  replicaId: string;
}

/** A publish that fails is a lost message like any other pub/sub message (see publish). */
const ignore = (): void => undefined;

/**
 * Replicas talking over Redis pub/sub: one channel per replica (`<prefix>relay:<id>`) for calls and
 * their answers, and one broadcast channel (`<prefix>broadcast`) for directory changes. Messages are
 * sealed (relay-envelope.ts); what fails to open is counted and dropped. Delivery is at most once:
 * every call has a deadline, and what must not be lost (the directory) is also in Redis keys.
 */
export class ClusterBus {
  private readonly received = new Subject<ReceivedRelay>();
  /** Every message for this replica, verified, in the order Redis delivered them. */
  readonly messages$: Observable<ReceivedRelay> = this.received.asObservable();
  private refused = 0;
  /** Whether the publisher's socket is corked until the end of this event-loop turn. */
  private holding = false;
  private readonly ownChannel: string;
  private readonly broadcastChannel: string;

  constructor(private readonly options: ClusterBusOptions) {
    this.ownChannel = this.channelOf(options.replicaId);
    this.broadcastChannel = `${options.prefix}broadcast`;
    options.subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** Messages dropped because they were not sealed with the cluster's secret, too old or too large. */
  get refusedCount(): number {
    return this.refused;
  }

  /** Whether both connections are up: what is sent now can arrive. */
  get connected(): boolean {
    return this.options.publisher.status === 'ready' && this.options.subscriber.status === 'ready';
  }

  /** Subscribes to this replica's channels (ioredis subscribes again by itself after a reconnect). */
  async start(): Promise<void> {
    await this.options.subscriber.subscribe(this.ownChannel, this.broadcastChannel);
  }

  /** Sends a message to one replica; false (nothing sent) while Redis cannot be reached. */
  send(replica: string, message: RelayMessage): boolean {
    return this.publish(this.channelOf(replica), message);
  }

  /** Sends a message to every other replica; false while Redis cannot be reached. */
  broadcast(message: RelayMessage): boolean {
    return this.publish(this.broadcastChannel, message);
  }

  private publish(channel: string, message: RelayMessage): boolean {
    const { publisher } = this.options;
    if (publisher.status !== 'ready') return false;
    this.holdWrites(publisher);
    // Without the offline queue a command fails at once when the connection drops meanwhile: the
    // message is lost like any pub/sub message, and the call it belonged to runs into its deadline.
    publisher.publish(channel, this.options.seal.seal(this.options.replicaId, message)).catch(ignore);
    return true;
  }

  /**
   * Holds the publisher's socket writes until the end of the event-loop turn, so the messages of one
   * turn leave in one write: ioredis writes every command at once, and one loopback write per message
   * was the relay's largest cost under load (as the tunnel's frames were, WriteCoalescer). A lone
   * message waits only for the rest of the turn; an exchange's head and first chunk, or last chunk and
   * end, then also reach the other replica together.
   */
  private holdWrites(publisher: Redis): void {
    if (this.holding) return;
    const socket = publisher.stream as Redis['stream'] | undefined;
    if (typeof socket?.cork !== 'function') return;
    this.holding = true;
    socket.cork();
    setImmediate(() => {
      this.holding = false;
      // The same socket even if ioredis has reconnected meanwhile: what it held goes out (or is dropped with it).
      socket.uncork();
    });
  }

  private onMessage(channel: string, text: string): void {
    if (channel !== this.ownChannel && channel !== this.broadcastChannel) return;
    const opened = this.options.seal.open(text);
    if (!opened) {
      this.refused++;
      return;
    }
    if (opened.from === this.options.replicaId) return; // our own broadcast
    this.received.next(opened);
  }

  private channelOf(replica: string): string {
    return `${this.options.prefix}relay:${replica}`;
  }
}
