/** The shape of a session's call statistics: fixed, so the memory per session is too. */
export const CALL_STATS_LIMITS = {
  /** One point per interval. */
  intervalMs: 10_000,
  /** Intervals kept (a ring): 60 × 10 s, the last ten minutes. */
  intervals: 60,
  /** Upper bound of the first latency bin; each next bin's bound is √2 times larger. */
  firstBinMs: 0.25,
  /** Latency bins per interval: the last one (above 0.25 × 2^19 ms ≈ 131 s) takes everything longer. */
  bins: 40,
} as const;

const { intervalMs: INTERVAL_MS, intervals: INTERVALS, firstBinMs: FIRST_BIN_MS, bins: BINS } = CALL_STATS_LIMITS;

/** One interval of calls. */
export interface CallStatsPoint {
  /** Start of the interval (epoch ms). */
  t: number;
  /** Calls that ended in it, failed ones included. */
  calls: number;
  /** Calls that failed (timeout, tunnel closed, cancelled, busy) or were answered with a JSON-RPC error. */
  errors: number;
  /** Median latency (ms), from the interval's histogram; null without a timed call. */
  p50Ms: number | null;
  /** 99th percentile latency (ms); null without a timed call. */
  p99Ms: number | null;
}

/** The last `windowMs` of a session's calls, oldest interval first, with the session's totals. */
export interface CallStatsSnapshot {
  intervalMs: number;
  windowMs: number;
  /** Calls that ended since the session started. */
  callsTotal: number;
  errorsTotal: number;
  points: CallStatsPoint[];
}

/**
 * Epoch milliseconds with sub-millisecond precision, from the monotonic clock: latencies of a few
 * hundred microseconds (a tunnel on the same host) stay measurable, and the clock never runs back.
 */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * Calls per interval and their latency, for one tunnel: a ring of `intervals` intervals, each a
 * count of calls and errors and a log-scale latency histogram (`bins` counters, √2 apart), so memory
 * is bounded (about 10 KiB, taken at the first call) however many calls there are. `record` is on
 * the path of every call: a few arithmetic operations, no allocation.
 */
export class CallStats {
  /** Which interval (epoch ms / intervalMs) each ring slot holds; -1: none yet. */
  private slotInterval: Float64Array | undefined;
  private calls: Uint32Array | undefined;
  private errors: Uint32Array | undefined;
  /** Per slot, `bins` latency counters. */
  private histogram: Uint32Array | undefined;
  /** Per slot, the lowest and highest latency seen, which bound the percentile estimates. */
  private minMs: Float64Array | undefined;
  private maxMs: Float64Array | undefined;
  private callsTotal = 0;
  private errorsTotal = 0;

  /** A call ended at `now` (epoch ms) after `latencyMs` since it was sent down the tunnel; `ok`: answered with a result. */
  record(latencyMs: number, ok: boolean, now: number): void {
    const slot = this.slotAt(now);
    this.count(slot, ok);
    const ms = latencyMs > 0 ? latencyMs : 0;
    const bin = ms <= FIRST_BIN_MS ? 0 : Math.min(BINS - 1, Math.ceil(2 * Math.log2(ms / FIRST_BIN_MS)));
    this.histogram![slot * BINS + bin]++;
    if (ms < this.minMs![slot]) this.minMs![slot] = ms;
    if (ms > this.maxMs![slot]) this.maxMs![slot] = ms;
  }

  /** A call refused before it was sent (too many in flight): an error without a latency. */
  refused(now: number): void {
    this.count(this.slotAt(now), false);
  }

  /** The intervals of the last window up to the one holding `now`, oldest first; intervals without calls have zeros and null percentiles. */
  snapshot(now: number): CallStatsSnapshot {
    const current = Math.floor(now / INTERVAL_MS);
    const points: CallStatsPoint[] = [];
    for (let interval = current - INTERVALS + 1; interval <= current; interval++) {
      const slot = ringSlot(interval);
      const t = interval * INTERVAL_MS;
      if (this.slotInterval?.[slot] !== interval) {
        points.push({ t, calls: 0, errors: 0, p50Ms: null, p99Ms: null });
        continue;
      }
      points.push({
        t,
        calls: this.calls![slot],
        errors: this.errors![slot],
        p50Ms: this.percentile(slot, 0.5),
        p99Ms: this.percentile(slot, 0.99),
      });
    }
    return {
      intervalMs: INTERVAL_MS,
      windowMs: INTERVAL_MS * INTERVALS,
      callsTotal: this.callsTotal,
      errorsTotal: this.errorsTotal,
      points,
    };
  }

  private count(slot: number, ok: boolean): void {
    this.calls![slot]++;
    this.callsTotal++;
    if (!ok) {
      this.errors![slot]++;
      this.errorsTotal++;
    }
  }

  /** The ring slot of the interval holding `now`, emptied first when it still holds an older interval. */
  private slotAt(now: number): number {
    const interval = Math.floor(now / INTERVAL_MS);
    const slot = ringSlot(interval);
    if (!this.slotInterval) this.allocate();
    if (this.slotInterval![slot] !== interval) this.reset(slot, interval);
    return slot;
  }

  private allocate(): void {
    this.slotInterval = new Float64Array(INTERVALS).fill(-1);
    this.calls = new Uint32Array(INTERVALS);
    this.errors = new Uint32Array(INTERVALS);
    this.histogram = new Uint32Array(INTERVALS * BINS);
    this.minMs = new Float64Array(INTERVALS);
    this.maxMs = new Float64Array(INTERVALS);
  }

  /** Once per interval: the slot starts over for `interval`. */
  private reset(slot: number, interval: number): void {
    this.slotInterval![slot] = interval;
    this.calls![slot] = 0;
    this.errors![slot] = 0;
    this.histogram!.fill(0, slot * BINS, (slot + 1) * BINS);
    this.minMs![slot] = Infinity;
    this.maxMs![slot] = 0;
  }

  /**
   * The `q` quantile of a slot's latencies: the geometric middle of the bin holding it (within
   * ±19% of the truth), kept within the lowest and highest latency seen. Rounded to 0.01 ms.
   */
  private percentile(slot: number, q: number): number | null {
    const histogram = this.histogram!;
    const base = slot * BINS;
    let timed = 0;
    for (let bin = 0; bin < BINS; bin++) timed += histogram[base + bin];
    if (timed === 0) return null;
    const rank = Math.max(1, Math.ceil(q * timed));
    let seen = 0;
    let bin = 0;
    for (; bin < BINS - 1; bin++) {
      seen += histogram[base + bin];
      if (seen >= rank) break;
    }
    const middle = FIRST_BIN_MS * 2 ** ((bin - 0.5) / 2);
    const value = Math.min(this.maxMs![slot], Math.max(this.minMs![slot], middle));
    return Math.round(value * 100) / 100;
  }
}

function ringSlot(interval: number): number {
  return ((interval % INTERVALS) + INTERVALS) % INTERVALS;
}
