/**
 * Exponential backoff with full jitter (delay uniform in [0, min(cap, base * 2^n)]), so many
 * clients cut off by the same gateway restart do not all come back in the same instant.
 * The schedule starts over once a connection that stayed up for `stableMs` goes down: the next
 * outage is a new one, not the continuation of the last. A connection that drops sooner counts
 * as a failed attempt, so a peer that accepts and then drops at once still meets a growing delay.
 */

export interface BackoffOptions {
  baseMs: number;
  capMs?: number;
  /** How long a connection must stay up for the schedule to start over when it drops. */
  stableMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  /** Injected for tests; defaults to Date.now. */
  now?: () => number;
}

export const BACKOFF_CAP_MS = 60_000;
export const STABLE_AFTER_MS = 30_000;

export class Backoff {
  private attempts = 0;
  /** Attempts since the reset that went without waiting: they do not raise the ceiling. */
  private waivedAttempts = 0;
  private upSince: number | undefined;
  /** waiveNext() was granted: the next attempt goes without waiting. */
  private waived = false;
  /** The last attempt went without waiting, and no connection has proved stable since. */
  private lastWaived = false;
  private readonly capMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.capMs = options.capMs ?? BACKOFF_CAP_MS;
    this.stableMs = options.stableMs ?? STABLE_AFTER_MS;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Delays handed out since the last reset: the number of the attempt about to be made. */
  get attempt(): number {
    return this.attempts;
  }

  /** Upper bound of the `n`-th delay drawn since the reset (1-based; waived attempts draw none). */
  ceilingFor(n: number): number {
    if (this.options.baseMs <= 0) return 0;
    // 2^n overflows to Infinity long after it passed the cap; min() keeps that harmless.
    return Math.min(this.capMs, this.options.baseMs * 2 ** Math.max(0, n - 1));
  }

  /**
   * Counts one more attempt and returns how long to wait before it, in ms (0 when waived).
   * `ceilingMs` caps this delay's bound, e.g. while something waiting on the far side would expire.
   */
  next(ceilingMs = Infinity): number {
    this.attempts++;
    this.lastWaived = this.waived;
    if (this.waived) {
      this.waived = false;
      this.waivedAttempts++;
      return 0;
    }
    return Math.floor(this.random() * Math.min(ceilingMs, this.ceilingFor(this.attempts - this.waivedAttempts)));
  }

  /** Starts the schedule over. */
  reset(): void {
    this.attempts = 0;
    this.waivedAttempts = 0;
    this.waived = false;
    this.lastWaived = false;
  }

  /** A connection is up (for the link: registered). */
  markUp(): void {
    this.upSince = this.now();
  }

  /** The connection went down: true when it had stayed up for `stableMs`, and then the schedule starts over. */
  markDown(): boolean {
    const stable = this.upSince !== undefined && this.now() - this.upSince >= this.stableMs;
    this.upSince = undefined;
    if (stable) this.reset();
    return stable;
  }

  /**
   * Makes the next attempt without waiting; it counts as an attempt, but the delays after it start
   * from where they would have without it (the base, after a reset). Refused (false) when the last attempt
   * already went without waiting and no connection has stayed up `stableMs` since: a peer that
   * keeps dropping us at once must not get a reconnect loop without pause.
   */
  waiveNext(): boolean {
    if (this.lastWaived) return false;
    this.waived = true;
    return true;
  }
}

/** "3.2 s" */
export function formatDelay(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
