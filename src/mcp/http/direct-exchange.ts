import type { ServerResponse } from 'node:http';
import type { JsonRpcId, JsonRpcMessage } from '../../protocol/json-rpc.js';
import { cutOff, SlowReaderGuard, type StreamLimits } from './slow-reader.js';

/** Where a direct exchange keeps the events of its SSE form, for a client that resumes with `Last-Event-ID`. */
export interface ExchangeEventLog {
  /** Keeps `message` (`{}`: a priming event), whose JSON is `json` when given, as the next event of `streamId`; returns its id. */
  store(streamId: string, message: object, json?: string): string;
  /** The kept events of `eventId`'s stream after it, as `[id, json]`, priming events left out. */
  eventsAfter(eventId: string): Iterable<[string, string]>;
  /** The stream reached its client whole: its events need not be kept. */
  forgetStream(streamId: string): void;
}

export interface DirectExchangeLimits extends StreamLimits {
  /** How long the answer may take and still leave as one JSON body; past it the response becomes an SSE stream (0: SSE at once). */
  answerWaitMs: number;
  /** Interval of SSE keep-alive comments while the call runs (0: none). */
  keepaliveMs: number;
}

/** Timers, injected so that a spec can drive them. */
export interface ExchangeClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_CLOCK: ExchangeClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface DirectExchangeOptions {
  /** The MCP session, echoed in the `mcp-session-id` response header. */
  sessionId: string;
  /** The id of the one request the POST carried: its answer ends the exchange. */
  requestId: JsonRpcId;
  /** This exchange's stream in the event log. */
  streamId: string;
  /** Whether the SSE form starts with a priming event (clients of 2025-11-25 on read one and can resume from it). */
  priming: boolean;
  log: ExchangeEventLog | undefined;
  limits: DirectExchangeLimits;
  /** Called once when the exchange is over: `delivered` when its answer was written to a connected client. */
  onEnd: (delivered: boolean) => void;
  clock?: ExchangeClock;
}

type ExchangeState = 'waiting' | 'streaming' | 'detached' | 'over';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * One POST that carried one request, answered straight on the Node response instead of through the
 * SDK's transport (the MCP door's common exchange, at the cost of the REST door). An answer that
 * arrives within `answerWaitMs`, before anything else for the request, leaves as one JSON body (the
 * spec lets the server pick JSON or SSE for any POST). Anything else — progress, a server-to-client
 * request, or a call still running when the wait is over — turns the response into the SSE stream
 * the SDK would have written: the same headers, a priming event for clients that can resume, each
 * message an `event: message` with its id kept in the event log, keep-alive comments, and the end of
 * the stream after the answer. A client that leaves mid-stream may resume it with `Last-Event-ID`
 * (`resume`) while the call runs; once it is over, the events stay in the log for the SDK's replay.
 */
export class DirectExchange {
  private state: ExchangeState = 'waiting';
  /** Whether the client was given an event id, so that it can resume the stream. */
  private resumable = false;
  private res: ServerResponse | undefined;
  private guard: SlowReaderGuard | undefined;
  private waitTimer: unknown;
  private keepaliveTimer: unknown;
  private readonly clock: ExchangeClock;
  private readonly onClose = (): void => this.detach();

  constructor(
    res: ServerResponse,
    private readonly options: DirectExchangeOptions,
  ) {
    this.clock = options.clock ?? NODE_CLOCK;
    this.attach(res);
    if (options.limits.answerWaitMs > 0) this.waitTimer = this.clock.setTimeout(() => void this.startStream(), options.limits.answerWaitMs);
    else this.startStream();
  }

  get streamId(): string {
    return this.options.streamId;
  }

  /** Whether a client is connected to the exchange's response (a resume must wait until it is not: 409). */
  get isAttached(): boolean {
    return this.state === 'waiting' || this.state === 'streaming';
  }

  /** Whether the exchange still waits for its answer. */
  get isOpen(): boolean {
    return this.state !== 'over';
  }

  /**
   * A message for the exchange's request (its answer, progress, a server request). False once the
   * exchange is over (its client left before it could resume); a message for a client that left
   * after an event id is kept for its resumption.
   */
  deliver(message: JsonRpcMessage): boolean {
    if (this.state === 'over') return false;
    const isAnswer = !('method' in message) && 'id' in message && message.id === this.options.requestId;
    if (this.state === 'waiting') {
      if (isAnswer) return this.answerAsJson(message);
      // The client was gone already: nobody to tell (a server request then takes the session's own stream).
      if (!this.startStream()) return false;
    }
    const json = JSON.stringify(message);
    const eventId = this.options.log?.store(this.options.streamId, message, json);
    if (this.state === 'streaming') this.write(sseEventOf(json, eventId), eventId !== undefined);
    if (isAnswer) this.finish(this.endStream());
    return true;
  }

  /**
   * A client resuming the stream after `lastEventId` on `res` (a GET): the events kept since then,
   * then the rest of the exchange. Only while detached.
   */
  resume(res: ServerResponse, lastEventId: string): void {
    if (this.state !== 'detached') throw new Error('Only a detached exchange can be resumed');
    this.attach(res);
    this.state = 'streaming';
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.options.sessionId });
    res.flushHeaders();
    for (const [eventId, json] of this.options.log?.eventsAfter(lastEventId) ?? []) this.write(sseEventOf(json, eventId), true);
    this.startKeepalive();
  }

  /** No answer will come (the session ended, or the call was given up): the response ends, without one. */
  close(): void {
    if (this.state === 'over') return;
    const res = this.isAttached ? this.res : undefined;
    const waiting = this.state === 'waiting';
    this.finish(false);
    if (!res || res.destroyed) return;
    if (waiting) res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.options.sessionId });
    res.end();
  }

  /** `res` carries the exchange from now on: watched for its client leaving. */
  private attach(res: ServerResponse): void {
    this.res = res;
    this.guard = undefined;
    res.once('close', this.onClose);
    if (res.destroyed) queueMicrotask(this.onClose);
  }

  /** The answer came in time, first: one JSON body. */
  private answerAsJson(message: JsonRpcMessage): boolean {
    const res = this.res!;
    const body = JSON.stringify(message);
    const delivered = !res.destroyed;
    if (delivered) {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'mcp-session-id': this.options.sessionId,
      });
      res.end(body);
    }
    this.finish(delivered);
    return true;
  }

  /**
   * From here on the response is an SSE stream: headers, and a priming event the client can resume
   * from. False when its client is gone (the exchange is then over).
   */
  private startStream(): boolean {
    if (this.state !== 'waiting') return this.state === 'streaming';
    this.clock.clearTimeout(this.waitTimer);
    const res = this.res!;
    if (res.destroyed) {
      this.detach();
      return false;
    }
    this.state = 'streaming';
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.options.sessionId });
    if (this.options.priming && this.options.log) {
      const eventId = this.options.log.store(this.options.streamId, {});
      this.write(`id: ${eventId}\ndata: \n\n`, true);
    } else {
      res.flushHeaders();
    }
    this.startKeepalive();
    return true;
  }

  private startKeepalive(): void {
    if (this.options.limits.keepaliveMs > 0) {
      this.keepaliveTimer = this.clock.setInterval(() => this.write(': keepalive\n\n'), this.options.limits.keepaliveMs);
    }
  }

  /** Writes to the connected client, or cuts it off when it has fallen too far behind (it may resume). */
  private write(chunk: string, carriesId = false): void {
    const res = this.res;
    if (this.state !== 'streaming' || !res || res.destroyed) return;
    this.guard ??= new SlowReaderGuard(res, this.options.limits);
    if (this.guard.isTooFarBehind()) {
      cutOff(res);
      return;
    }
    res.write(chunk);
    if (carriesId) this.resumable = true;
  }

  /** Ends the SSE stream after its answer; true when a client was there to get it. */
  private endStream(): boolean {
    const res = this.res;
    if (this.state !== 'streaming' || !res || res.destroyed) return false;
    res.end();
    this.options.log?.forgetStream(this.options.streamId);
    return true;
  }

  /**
   * The client went away: what follows is kept for its resumption, once it was given an event id to
   * resume from; before that nobody can ask for the rest, and the exchange is over.
   */
  private detach(): void {
    if (this.state !== 'waiting' && this.state !== 'streaming') return;
    if (!this.resumable) return this.finish(false);
    this.stopTimers();
    this.release();
    this.state = 'detached';
  }

  private finish(delivered: boolean): void {
    if (this.state === 'over') return;
    this.stopTimers();
    this.release();
    this.state = 'over';
    this.options.onEnd(delivered);
  }

  /**
   * Lets go of the response. Not only tidiness: V8 may allocate exchanges straight in the old
   * generation, and a dead exchange there still holding its response would keep the whole request
   * (parser, headers, buffers) alive through every young-generation GC until a full one; measured,
   * that tripled the young GC's pauses (bench/profile-notes.md, eighth round).
   */
  private release(): void {
    this.res?.off('close', this.onClose);
    this.res = undefined;
    this.guard = undefined;
  }

  private stopTimers(): void {
    this.clock.clearTimeout(this.waitTimer);
    if (this.keepaliveTimer !== undefined) this.clock.clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }
}

/** One message as the SDK's transport writes it. */
function sseEventOf(json: string, eventId: string | undefined): string {
  return eventId === undefined ? `event: message\ndata: ${json}\n\n` : `event: message\nid: ${eventId}\ndata: ${json}\n\n`;
}
