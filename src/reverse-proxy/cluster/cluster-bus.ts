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

/** Messages of one event-loop turn for one channel, in the order they were sent (as their JSON). */
interface PendingRun {
  channel: string;
  messageJson: string[];
}

/**
 * Replicas talking over Redis pub/sub: one channel per replica (`<prefix>relay:<id>`) for calls and
 * their answers, and one broadcast channel (`<prefix>broadcast`) for directory changes. Messages are
 * sealed (relay-envelope.ts); what fails to open is counted and dropped. Delivery is at most once:
 * every call has a deadline, and what must not be lost (the directory) is also in Redis keys.
 *
 * What is sent in one event-loop turn leaves at its end: each run of messages for the same channel as
 * one sealed batch (one JSON text, one HMAC, one PUBLISH, one delivery), all of the turn's PUBLISHes in
 * one socket write. Sealing, publishing and opening each message on its own was most of the relay's
 * cost under load (bench/profile-notes.md, sixth round). The order of messages is kept, across channels too.
 */
export class ClusterBus {
  private readonly received = new Subject<ReceivedRelay>();
  /** Every message for this replica, verified, in the order Redis delivered them. */
  readonly messages$: Observable<ReceivedRelay> = this.received.asObservable();
  private refused = 0;
  /** What was sent this turn and is not published yet; a flush is scheduled while it is not empty. */
  private pending: PendingRun[] = [];
  private readonly ownChannel: string;
  private readonly broadcastChannel: string;

  constructor(private readonly options: ClusterBusOptions) {
    this.ownChannel = this.channelOf(options.replicaId);
    this.broadcastChannel = `${options.prefix}broadcast`;
    options.subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** Messages dropped because they were not sealed with the cluster's secret, too old, too large or of unknown type. */
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

  /**
   * Publishes what was sent so far in this turn now (it would otherwise leave at the turn's end):
   * before the publishing connection is closed.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const runs = this.pending;
    this.pending = [];
    const { publisher, seal, replicaId } = this.options;
    // ioredis writes each command at once: corked, the turn's PUBLISHes leave in one write.
    const socket = publisher.stream as Redis['stream'] | undefined;
    const corked = typeof socket?.cork === 'function';
    if (corked) socket.cork();
    try {
      for (const run of runs) {
        for (const text of seal.sealBatch(replicaId, run.messageJson)) {
          // Without the offline queue a command fails at once when the connection dropped meanwhile: the
          // messages are lost like any pub/sub message, and the calls they belonged to run into their deadline.
          publisher.publish(run.channel, text).catch(ignore);
        }
      }
    } finally {
      if (corked) socket.uncork();
    }
  }

  private publish(channel: string, message: RelayMessage): boolean {
    if (this.options.publisher.status !== 'ready') return false;
    // Serialised now, so that what the caller changes later does not travel.
    const json = JSON.stringify(message);
    const last = this.pending.at(-1);
    if (last?.channel === channel) {
      last.messageJson.push(json);
      return true;
    }
    // A lone message waits only for the rest of the turn; an exchange's head and first chunk, or last
    // chunk and end, then also reach the other replica together.
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push({ channel, messageJson: [json] });
    return true;
  }

  private onMessage(channel: string, text: string): void {
    if (channel !== this.ownChannel && channel !== this.broadcastChannel) return;
    const opened = this.options.seal.openBatch(text);
    if (!opened) {
      this.refused++;
      return;
    }
    this.refused += opened.skipped;
    const { from, messages } = opened;
    if (from === this.options.replicaId) return; // our own broadcast
    for (const message of messages) this.received.next({ from, message });
  }

  private channelOf(replica: string): string {
    return `${this.options.prefix}relay:${replica}`;
  }
}
