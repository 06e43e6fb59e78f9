/**
 * At most once (docs/protocol.md, "Resumption"): the ids of the last requests the gateway handed
 * the tunnel, so that a request arriving twice (a resend the numbering did not catch, a gateway
 * bug) reaches the local server once and its caller gets one answer. Bounded: past `capacity`, the
 * oldest id is forgotten. The gateway's ids are unique within a session only, so a new session
 * starts with an empty memory.
 */
import type { JsonRpcId } from '../protocol/json-rpc.js';

/** Ids remembered by default: far more than a session has in flight, small enough to not matter (~1 MB). */
export const HANDED_REQUESTS_REMEMBERED = 10_000;

/** `1` and `"1"` are different JSON-RPC ids. */
const key = (id: JsonRpcId): string => `${typeof id}:${id}`;

export class HandedRequests {
  private readonly seen = new Set<string>();
  /** The same keys in arrival order, as a ring: `ring[next]` is the oldest once full. */
  private readonly ring: string[] = [];
  private next = 0;

  constructor(readonly capacity: number = HANDED_REQUESTS_REMEMBERED) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** Takes a request id: true the first time (hand it over), false when it was taken before (drop it). */
  claim(id: JsonRpcId): boolean {
    const k = key(id);
    if (this.seen.has(k)) return false;
    if (this.ring.length < this.capacity) {
      this.ring.push(k);
    } else {
      this.seen.delete(this.ring[this.next]);
      this.ring[this.next] = k;
      this.next = (this.next + 1) % this.capacity;
    }
    this.seen.add(k);
    return true;
  }

  /** A new session: its ids may repeat the old one's. */
  clear(): void {
    this.seen.clear();
    this.ring.length = 0;
    this.next = 0;
  }
}
