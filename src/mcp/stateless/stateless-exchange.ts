import type { ServerResponse } from 'node:http';
import type { JsonRpcId } from '../../protocol/json-rpc.js';
import { cutOff, SlowReaderGuard, type StreamLimits } from '../http/slow-reader.js';

export interface StatelessExchangeLimits extends StreamLimits {
  /** Interval of SSE keep-alive comments once the answer is a stream (0: none). */
  keepaliveMs: number;
}

/** The keep-alive timer, injected so that a spec can drive it. */
export interface KeepaliveClock {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_CLOCK: KeepaliveClock = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface StatelessExchangeOptions {
  /** The id the client gave its request: its answer carries it back. */
  requestId: JsonRpcId;
  limits: StatelessExchangeLimits;
  /** Called once when the exchange is over: `delivered` when its answer was written to a connected client. */
  onEnd?: (delivered: boolean) => void;
  clock?: KeepaliveClock;
}

type ExchangeState = 'waiting' | 'streaming' | 'over';

/** The SSE headers of the SDK's per-request transport, so that both forms of the door answer alike. */
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * One POST of the stateless 2026-07-28 revision, answered on the Node response the way the SDK's
 * per-request transport answers it in its `auto` mode: the answer alone is one JSON body; a related
 * message (progress, a log line) before it turns the response into an SSE stream of `event: message`
 * frames with keep-alive comments, ended after the answer. The revision has no resumption, so a
 * client that leaves ends the exchange, and those who wait on it hear so (`onGone`): for this
 * revision, closing the stream is how a client cancels its request.
 */
export class StatelessExchange {
  private state: ExchangeState = 'waiting';
  /** Whether the client left before its answer. */
  private left = false;
  private guard: SlowReaderGuard | undefined;
  private keepaliveTimer: unknown;
  private goneListeners: (() => void)[] | undefined;
  private readonly clock: KeepaliveClock;
  private readonly onClose = (): void => this.leave();
  /** The client's response; let go once the exchange is over (see `finish`). */
  private res: ServerResponse | undefined;

  constructor(
    res: ServerResponse,
    private readonly options: StatelessExchangeOptions,
  ) {
    this.clock = options.clock ?? NODE_CLOCK;
    this.res = res;
    res.once('close', this.onClose);
    if (res.destroyed) queueMicrotask(this.onClose);
  }

  get requestId(): JsonRpcId {
    return this.options.requestId;
  }

  /** Whether the exchange still waits for its answer. */
  get isOpen(): boolean {
    return this.state !== 'over';
  }

  /** Calls `listener` once if the client leaves before its answer (at once if it has). */
  onGone(listener: () => void): void {
    if (this.left) listener();
    else if (this.state !== 'over') (this.goneListeners ??= []).push(listener);
  }

  /** The answer (the client's id already restored): JSON with `status` when it comes first, else the stream's last frame. */
  answer(message: object, status: number): void {
    if (this.state === 'over') return;
    const json = JSON.stringify(message);
    const res = this.res!;
    if (this.state === 'waiting') {
      const delivered = !res.destroyed;
      if (delivered) {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      }
      return this.finish(delivered);
    }
    const delivered = this.write(frameOf(json));
    if (delivered) res.end();
    this.finish(delivered);
  }

  /** A message for the request before its answer: the response becomes (or stays) an SSE stream. */
  related(message: object): void {
    if (this.state === 'over') return;
    if (this.state === 'waiting') this.startStream();
    this.write(frameOf(JSON.stringify(message)));
  }

  /** No answer will come (the gateway is shutting down): an internal error, as the SDK's handler gives. */
  abandon(): void {
    if (this.state === 'waiting') {
      return this.answer({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: this.options.requestId }, 500);
    }
    if (this.state === 'streaming' && !this.res!.destroyed) this.res!.end();
    this.finish(false);
  }

  private startStream(): void {
    this.state = 'streaming';
    const res = this.res!;
    if (res.destroyed) return;
    res.writeHead(200, SSE_HEADERS);
    if (this.options.limits.keepaliveMs > 0) {
      this.keepaliveTimer = this.clock.setInterval(() => this.write(': keepalive\n\n'), this.options.limits.keepaliveMs);
    }
  }

  /** Writes one frame, or cuts off a client that has fallen too far behind; true when written. */
  private write(chunk: string): boolean {
    const res = this.res;
    if (this.state !== 'streaming' || !res || res.destroyed) return false;
    this.guard ??= new SlowReaderGuard(res, this.options.limits);
    if (this.guard.isTooFarBehind()) {
      cutOff(res);
      return false;
    }
    res.write(chunk);
    return true;
  }

  /** The client's response closed: unless the answer was written whole, the client left without it. */
  private leave(): void {
    if (this.state === 'over') return;
    this.left = true;
    const listeners = this.goneListeners;
    this.finish(false);
    for (const listener of listeners ?? []) listener();
  }

  private finish(delivered: boolean): void {
    if (this.state === 'over') return;
    this.state = 'over';
    if (this.keepaliveTimer !== undefined) this.clock.clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    // Let go of the response and its request: V8 may have put this exchange in the old generation,
    // where, dead but not yet collected, it would keep them alive through every young GC.
    this.res?.off('close', this.onClose);
    this.res = undefined;
    this.guard = undefined;
    this.goneListeners = undefined;
    this.options.onEnd?.(delivered);
  }
}

/** One message as the SDK's per-request transport frames it. */
function frameOf(json: string): string {
  return `event: message\ndata: ${json}\n\n`;
}
