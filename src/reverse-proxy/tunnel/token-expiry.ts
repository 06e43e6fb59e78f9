/**
 * The schedule of one tunnel's token (docs/protocol.md, "Token expiry"): a warning some time before
 * its `exp`, then the expiry itself; a refreshed token moves both. Also the bound on how often a
 * tunnel may present a fresh token. Time and timers are injected, so the schedule is unit-tested
 * without waiting.
 */

/** What the owner of the schedule does at each point. */
export interface TokenExpiryHandlers {
  /** The token expires at `expiresAt` (ms since the epoch): time to ask the client for a fresh one. */
  warn(expiresAt: number): void;
  /** The token has expired. */
  expire(expiresAt: number): void;
}

/** setTimeout and clearTimeout, or a test's manual clock. */
export interface ExpiryTimers {
  set(run: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** Limits of the schedule, as data. */
export const TOKEN_EXPIRY_LIMITS = {
  /** The warning comes at most this share of the token's remaining lifetime before `exp`, so a short-lived token is not warned at once. */
  warnFraction: 0.5,
  /** A tunnel may present a fresh token at most once per this interval; more are refused. */
  refreshIntervalMs: 1000,
  /** Longest single timer: Node's setTimeout fires at once past 2^31-1 ms, so a far `exp` is reached in steps. */
  maxTimerMs: 2_147_483_647,
} as const;

export interface TokenExpiryOptions {
  /** How long before `exp` the warning comes, at most (TUNNEL_TOKEN_WARN_MS). */
  warnMs: number;
  now?: () => number;
  timers?: ExpiryTimers;
}

const realTimers: ExpiryTimers = {
  set: (run, delayMs) => {
    const timer = setTimeout(run, delayMs);
    // The schedule never keeps the process alive on its own.
    timer.unref?.();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * When the warning for a token expiring at `expiresAt` is due, seen at `now`: `warnMs` before `exp`,
 * or sooner before it for a token with less than twice that left (warnFraction of what remains).
 */
export function warningAt(expiresAt: number, now: number, warnMs: number): number {
  const remaining = Math.max(0, expiresAt - now);
  return expiresAt - Math.min(warnMs, remaining * TOKEN_EXPIRY_LIMITS.warnFraction);
}

/** One tunnel's token schedule: warn, then expire; `watch` again when a fresh token arrives. */
export class TokenExpiry {
  private current: number | undefined;
  private warnTimer: unknown;
  private expireTimer: unknown;
  private lastRefreshAt = -Infinity;
  private refreshing = false;
  private readonly now: () => number;
  private readonly timers: ExpiryTimers;

  constructor(
    private readonly handlers: TokenExpiryHandlers,
    private readonly options: TokenExpiryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
  }

  /** When the token now in force expires (ms since the epoch); undefined: it never does. */
  get expiresAt(): number | undefined {
    return this.current;
  }

  /**
   * Follows a token expiring at `expiresAt` (undefined: never) in place of the one before: the
   * warning and the expiry are scheduled again. A warning already due fires at once (asynchronously).
   */
  watch(expiresAt: number | undefined): void {
    this.stop();
    this.current = expiresAt;
    if (expiresAt === undefined) return;
    const now = this.now();
    const warnAt = warningAt(expiresAt, now, this.options.warnMs);
    if (warnAt < expiresAt) this.at('warn', warnAt, () => this.handlers.warn(expiresAt));
    this.at('expire', expiresAt, () => this.handlers.expire(expiresAt));
  }

  /** Stops the schedule (the session ended, or its connection was carried to another replica). */
  stop(): void {
    this.timers.clear(this.warnTimer);
    this.timers.clear(this.expireTimer);
    this.warnTimer = undefined;
    this.expireTimer = undefined;
  }

  /**
   * Whether a fresh token may be checked now: one at a time, at most one per refreshIntervalMs. A
   * true answer must be followed by refreshDone().
   */
  beginRefresh(): boolean {
    const now = this.now();
    if (this.refreshing || now - this.lastRefreshAt < TOKEN_EXPIRY_LIMITS.refreshIntervalMs) return false;
    this.refreshing = true;
    this.lastRefreshAt = now;
    return true;
  }

  /** The fresh token was checked (accepted or not). */
  refreshDone(): void {
    this.refreshing = false;
  }

  /** Runs `run` at `when` from timer `slot`, in steps no longer than the longest timer. */
  private at(slot: 'warn' | 'expire', when: number, run: () => void): void {
    const delay = Math.max(0, when - this.now());
    const fits = delay <= TOKEN_EXPIRY_LIMITS.maxTimerMs;
    const handle = this.timers.set(fits ? run : () => this.at(slot, when, run), fits ? delay : TOKEN_EXPIRY_LIMITS.maxTimerMs);
    if (slot === 'warn') this.warnTimer = handle;
    else this.expireTimer = handle;
  }
}
