import { HttpException } from '@nestjs/common';
import { CallError, CLUSTER_UNREACHABLE } from '../tunnel/call-error.js';
import type { ClusterBus } from './cluster-bus.js';
import type { ExchangeRefusal, RelayedExchangeRequest, RelayMessage } from './relay-envelope.js';

/** Serves a relayed exchange on the replica holding the tunnel: a door's own logic, on a web Request. */
export type ExchangeDoor = (request: RelayedExchangeRequest, signal: AbortSignal) => Promise<Response>;

/** Limits of the exchange relay. */
export interface ExchangeRelayLimits {
  /** How long the entry replica waits for the response to start (status and headers). */
  headTimeoutMs: number;
  /** Exchanges one replica serves for others at once; more are refused with 503. */
  maxServed: number;
}

interface Outgoing {
  replica: string;
  head: { resolve: (response: Response) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> } | undefined;
  body: ReadableStreamDefaultController<Uint8Array> | undefined;
}

const encoder = new TextEncoder();
/** Statuses whose response has no body (the Response constructor refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * HTTP exchanges of a door carried to the replica holding the tunnel (cluster mode): the entry
 * replica sends the request (its verified principal, never its credentials), the serving replica
 * runs the door there and streams the response back as it is produced, chunk by chunk. The entry
 * side writes it to its client through the door's usual bounded writer; when that client goes away
 * or is cut off, the serving side stops. Either replica or Redis going away ends the exchange.
 */
export class ExchangeRelay {
  private seq = 0;
  private readonly outgoing = new Map<number, Outgoing>();
  private readonly served = new Map<string, AbortController>();
  private readonly doors = new Map<string, ExchangeDoor>();

  constructor(
    private readonly bus: ClusterBus,
    private readonly limits: ExchangeRelayLimits,
  ) {
    bus.messages$.subscribe(({ from, message }) => this.receive(from, message));
  }

  /** Exchanges this replica is waiting on, and serving for others. */
  get size(): { forwarded: number; served: number } {
    return { forwarded: this.outgoing.size, served: this.served.size };
  }

  /** Registers the door that serves exchanges named `door` here. */
  serveWith(door: string, handler: ExchangeDoor): void {
    this.doors.set(door, handler);
  }

  /**
   * Relays an exchange to `replica`; resolves with its response, whose body streams as it arrives.
   * Rejects with what the door there threw before responding (an HttpException, a CallError), or
   * CallError `unreachable` / `timeout` / `closed` when the replica cannot be reached or answer.
   */
  forward(replica: string, request: RelayedExchangeRequest): Promise<Response> {
    const x = ++this.seq;
    if (!this.bus.send(replica, { t: 'x-open', x, request })) return Promise.reject(new CallError('unreachable', CLUSTER_UNREACHABLE));
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.outgoing.delete(x);
        this.bus.send(replica, { t: 'x-abort', x });
        reject(new CallError('timeout', `The gateway replica holding this server did not answer within ${this.limits.headTimeoutMs} ms`));
      }, this.limits.headTimeoutMs);
      this.outgoing.set(x, { replica, head: { resolve, reject, timer }, body: undefined });
    });
  }

  /** A replica is gone: exchanges with it end (not started: the tunnel closed). */
  replicaGone(replica: string): void {
    this.failWhere((o) => o.replica === replica, new CallError('closed', 'The tunnel closed (its gateway replica stopped)'));
    for (const [key, abort] of [...this.served]) {
      if (key.startsWith(`${replica}:`)) this.stopServing(key, abort);
    }
  }

  /** Redis is away: nothing more can arrive, every exchange ends. */
  failAll(): void {
    this.failWhere(() => true, new CallError('unreachable', CLUSTER_UNREACHABLE));
    for (const [key, abort] of [...this.served]) this.stopServing(key, abort);
  }

  private receive(from: string, message: RelayMessage): void {
    switch (message.t) {
      case 'x-open':
        void this.serve(from, message.x, message.request);
        return;
      case 'x-head': {
        const out = this.outgoing.get(message.x);
        if (out?.replica !== from || !out.head) return;
        const head = out.head;
        out.head = undefined;
        clearTimeout(head.timer);
        if (NO_BODY.has(message.status)) {
          this.outgoing.delete(message.x);
          head.resolve(new Response(null, { status: message.status, headers: message.headers }));
          return;
        }
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => void (out.body = controller),
          // The client went away or was cut off: the serving side stops producing.
          cancel: () => {
            if (this.outgoing.delete(message.x)) this.bus.send(from, { t: 'x-abort', x: message.x });
          },
        });
        head.resolve(new Response(body, { status: message.status, headers: message.headers }));
        return;
      }
      case 'x-chunk': {
        const out = this.outgoing.get(message.x);
        if (out?.replica === from) out.body?.enqueue(encoder.encode(message.data));
        return;
      }
      case 'x-end': {
        const out = this.outgoing.get(message.x);
        if (out?.replica !== from) return;
        this.outgoing.delete(message.x);
        out.body?.close();
        return;
      }
      case 'x-abort': {
        const key = `${from}:${message.x}`;
        // From the serving side, it is about our own exchange `x`, never one we serve with the same number.
        const abort = message.served ? undefined : this.served.get(key);
        if (abort) {
          this.stopServing(key, abort);
          return;
        }
        const out = this.outgoing.get(message.x);
        if (out?.replica !== from) return;
        this.outgoing.delete(message.x);
        out.head?.reject(new CallError('closed', 'The gateway replica holding this server ended the exchange'));
        if (out.head) clearTimeout(out.head.timer);
        out.body?.error(new Error('exchange aborted'));
        return;
      }
      case 'x-refused':
        this.refused(from, message.x, message.refusal);
        return;
    }
  }

  private refused(from: string, x: number, refusal: ExchangeRefusal): void {
    const out = this.outgoing.get(x);
    if (out?.replica !== from || !out.head) return;
    this.outgoing.delete(x);
    clearTimeout(out.head.timer);
    out.head.reject(
      'reason' in refusal ? new CallError(refusal.reason, refusal.message) : new HttpException(refusal.message, refusal.status),
    );
  }

  /** The serving side: runs the door, then sends the head and every chunk of the body as it comes. */
  private async serve(from: string, x: number, request: RelayedExchangeRequest): Promise<void> {
    const key = `${from}:${x}`;
    const door = this.doors.get(request.door);
    if (!door) {
      // Replicas of different versions during a rolling upgrade: the entry answers it as its own 503.
      this.refuse(from, x, { status: 503, message: 'The gateway replica holding this server cannot serve this request' });
      return;
    }
    if (this.served.size >= this.limits.maxServed) {
      this.refuse(from, x, { reason: 'busy', message: 'This gateway replica is serving too many relayed requests; try again later' });
      return;
    }
    const abort = new AbortController();
    this.served.set(key, abort);
    let response: Response;
    try {
      response = await door(request, abort.signal);
    } catch (err) {
      this.served.delete(key);
      this.refuse(from, x, refusalOf(err));
      return;
    }
    if (abort.signal.aborted) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => headers.push([name, value]));
    this.bus.send(from, { t: 'x-head', x, status: response.status, headers });
    if (!response.body || NO_BODY.has(response.status)) {
      this.served.delete(key);
      this.bus.send(from, { t: 'x-end', x });
      return;
    }
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (abort.signal.aborted) return;
        if (done) break;
        const data = decoder.decode(value, { stream: true });
        if (data && !this.bus.send(from, { t: 'x-chunk', x, data })) {
          abort.abort();
          return;
        }
      }
      const rest = decoder.decode();
      if (rest) this.bus.send(from, { t: 'x-chunk', x, data: rest });
      this.bus.send(from, { t: 'x-end', x });
    } catch {
      // The door's stream errored: the entry side ends its response with what it got.
      this.bus.send(from, { t: 'x-abort', x, served: true });
    } finally {
      this.served.delete(key);
    }
  }

  private refuse(to: string, x: number, refusal: ExchangeRefusal): void {
    this.bus.send(to, { t: 'x-refused', x, refusal });
  }

  private stopServing(key: string, abort: AbortController): void {
    this.served.delete(key);
    abort.abort();
  }

  private failWhere(match: (o: Outgoing) => boolean, error: CallError): void {
    for (const [x, out] of [...this.outgoing]) {
      if (!match(out)) continue;
      this.outgoing.delete(x);
      if (out.head) {
        clearTimeout(out.head.timer);
        out.head.reject(error);
      }
      out.body?.error(error);
    }
  }
}

/** What a door threw, as the entry replica re-throws it: only statuses and safe messages travel. */
function refusalOf(err: unknown): ExchangeRefusal {
  if (err instanceof CallError) return { reason: err.reason, message: err.message };
  if (err instanceof HttpException) {
    const body = err.getResponse();
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    return { status: err.getStatus(), message: typeof message === 'string' ? message : err.message };
  }
  return { status: 500, message: 'Internal server error' };
}
