/**
 * Exponential backoff with full jitter (delay uniform in [0, min(cap, base * 2^n)]), so many
 * clients cut off by the same gateway restart do not all come back in the same instant.
 * The schedule starts over once a connection has stayed up for `stableMs`.
 */

export interface BackoffOptions {
  baseMs: number;
  capMs?: number;
  /** How long a connection must stay up before the schedule resets. */
  stableMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

export const BACKOFF_CAP_MS = 60_000;
export const STABLE_AFTER_MS = 30_000;

export class Backoff {
  private attempts = 0;
  private stableTimer: NodeJS.Timeout | undefined;
  private readonly capMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.capMs = options.capMs ?? BACKOFF_CAP_MS;
    this.stableMs = options.stableMs ?? STABLE_AFTER_MS;
    this.random = options.random ?? Math.random;
  }

  /** Delays handed out since the last reset: the number of the attempt about to be made. */
  get attempt(): number {
    return this.attempts;
  }

  /** Upper bound of the delay before attempt `n` (1-based). */
  ceilingFor(n: number): number {
    if (this.options.baseMs <= 0) return 0;
    // 2^n overflows to Infinity long after it passed the cap; min() keeps that harmless.
    return Math.min(this.capMs, this.options.baseMs * 2 ** Math.max(0, n - 1));
  }

  /** Counts one more attempt and returns how long to wait before it, in ms. */
  next(): number {
    this.attempts++;
    return Math.floor(this.random() * this.ceilingFor(this.attempts));
  }

  reset(): void {
    this.attempts = 0;
  }

  /** A connection is up: reset the schedule if it is still up after `stableMs`. */
  markUp(): void {
    this.clearStableTimer();
    this.stableTimer = setTimeout(() => this.reset(), this.stableMs);
    this.stableTimer.unref();
  }

  /** The connection went down before it proved stable (or after; then the reset already happened). */
  markDown(): void {
    this.clearStableTimer();
  }

  dispose(): void {
    this.clearStableTimer();
  }

  private clearStableTimer(): void {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
  }
}

/** "3.2 s" */
export function formatDelay(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
