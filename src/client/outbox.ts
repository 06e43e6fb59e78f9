/**
 * Frames the local server produced while the gateway was unreachable, sent once it is back.
 * Bounded: when full, the oldest go first, so a long outage costs a known amount of memory and
 * what arrives after reconnecting is the most recent state.
 */
import type { DataFrame } from '../protocol/envelopes.js';

export class Outbox {
  private frames: DataFrame[] = [];
  /** Dropped since the last drain. */
  dropped = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.frames.length;
  }

  /** Queues a frame; returns true when that pushed out an older one. */
  push(frame: DataFrame): boolean {
    this.frames.push(frame);
    if (this.frames.length <= this.limit) return false;
    this.frames.shift();
    this.dropped++;
    return true;
  }

  /** Takes everything queued, oldest first, and resets the drop count. */
  drain(): { frames: DataFrame[]; dropped: number } {
    const out = { frames: this.frames, dropped: this.dropped };
    this.frames = [];
    this.dropped = 0;
    return out;
  }

  clear(): void {
    this.drain();
  }
}
