import type { ServerResponse } from 'node:http';

/** How far an MCP client's stream may fall behind before the gateway gives up on it. */
export interface StreamLimits {
  /** Bytes queued for the client (response and socket buffers) past which the next write ends the stream. */
  maxBufferedBytes: number;
  /** Writes in a row made while the client is backed up (not draining) before the stream ends. */
  maxBacklog: number;
}

/**
 * Watches one streamed response for a client that stopped reading: the same rule as the REST SSE
 * stream (a backlog of events in a row) plus a byte bound, checked before each write, so what the
 * gateway holds for a client is at most `maxBufferedBytes` plus the one message being written.
 * A single message larger than the bound still goes to a client that has caught up.
 */
export class SlowReaderGuard {
  private backlog = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: StreamLimits,
  ) {}

  /** Call before writing one more chunk; true when the client is too far behind and the stream must end. */
  isTooFarBehind(): boolean {
    const res = this.res;
    if (res.writableLength > this.limits.maxBufferedBytes) return true;
    this.backlog = res.writableNeedDrain ? this.backlog + 1 : 0;
    return this.backlog > this.limits.maxBacklog;
  }
}

/**
 * Ends a response for a client that stopped reading: destroyed rather than ended, because an
 * orderly end would keep the whole backlog queued until the client reads it, which it will not.
 */
export function cutOff(res: ServerResponse): void {
  res.destroy();
}

/**
 * Guards every write of a response that others write to directly (the legacy SDK SSE transport):
 * past the limits the response is cut off and the write dropped. Its `close` then ends the stream.
 */
export function guardResponseWrites(res: ServerResponse, limits: StreamLimits, onCutOff?: () => void): void {
  const guard = new SlowReaderGuard(res, limits);
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the wrapper below calls it with `.apply(this, args)`
  const write = res.write as (...args: unknown[]) => boolean;
  res.write = function (this: ServerResponse, ...args: unknown[]): boolean {
    if (this.destroyed) return false;
    if (guard.isTooFarBehind()) {
      onCutOff?.();
      cutOff(this);
      return false;
    }
    return write.apply(this, args);
  } as ServerResponse['write'];
}
