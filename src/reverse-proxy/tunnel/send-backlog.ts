/** How much a tunnel may fall behind on reading before it is refused more, and then dropped. */
export interface SendBacklogLimits {
  /** Bytes queued for the tunnel (socket buffer, corked writes included) past which new messages are refused. */
  maxBufferedBytes: number;
  /** A tunnel that stays over maxBufferedBytes this long is stuck and gets closed. */
  stuckTimeoutMs: number;
}

/**
 * Tells whether a tunnel keeps up with what the gateway sends it. The caller reports the bytes
 * queued for the tunnel at each look; the backlog remembers since when they have been over the
 * limit, so a tunnel that stops reading is refused at once and declared stuck after a while.
 */
export class SendBacklog {
  /** When the queue was first seen over the limit, in this run over it. */
  private overSince: number | undefined;

  constructor(
    private readonly limits: SendBacklogLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the bytes queued now; returns whether one more message may be queued. */
  admits(bufferedBytes: number): boolean {
    if (bufferedBytes < this.limits.maxBufferedBytes) {
      this.overSince = undefined;
      return true;
    }
    this.overSince ??= this.now();
    return false;
  }

  /** Records the bytes queued now; returns whether the queue has been over the limit for stuckTimeoutMs. */
  isStuck(bufferedBytes: number): boolean {
    if (this.admits(bufferedBytes)) return false;
    return this.now() - this.overSince! >= this.limits.stuckTimeoutMs;
  }
}
