/** Lines a second, gateway-wide, about each kind of thing peers cause at will (protocol errors, error frames). */
export const PEER_LOG_LINES_PER_SECOND = 10;

/** Outcome of asking for a log line: allowed (with how many were held back before it) or not. */
export type LogTicket = { allowed: true; suppressed: number } | { allowed: false };

/**
 * At most `maxPerWindow` log lines per window, gateway-wide, for things peers can trigger at will
 * (protocol errors, malformed frames), so a flood of bad peers cannot flood the log. Lines over
 * the budget are counted and the count rides on the next line allowed.
 */
export class LogBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one line from the budget. */
  take(): LogTicket {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.maxPerWindow) {
      this.suppressed++;
      return { allowed: false };
    }
    this.used++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return { allowed: true, suppressed };
  }
}
