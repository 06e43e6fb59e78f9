/**
 * The tests' one Server-Sent Events parser: `SseParser` reads the wire format incrementally,
 * `parseSse` reads a whole body at once, and `SseStream` reads a live stream (opened here with
 * `SseStream.open`, or the body of a response a test already has with `SseStream.from`).
 */

/** One Server-Sent Event as read off the wire. */
export interface SseEvent {
  /** The `event:` field; `message` when the event has none. */
  event: string;
  data: string;
  id?: string;
}

/** The data of an event parsed as JSON. */
export const json = <T = any>(e: SseEvent): T => JSON.parse(e.data) as T;

/**
 * Incremental SSE parser: feed it text as it arrives, get back the events it completes. Handles
 * `\n` and `\r\n` line ends, comments (keep-alives such as `:` lines are skipped) and multi-line data.
 */
export class SseParser {
  private buffer = '';
  private current: { event?: string; data: string[]; id?: string } = { data: [] };

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r?\n/)) !== -1) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer[newline] === '\r' ? 2 : 1));
      if (line === '') {
        const { event, data, id } = this.current;
        if (data.length > 0 || event || id !== undefined) events.push({ event: event ?? 'message', data: data.join('\n'), id });
        this.current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.current.event = value;
      else if (field === 'data') this.current.data.push(value);
      else if (field === 'id') this.current.id = value;
    }
    return events;
  }
}

/** Every complete event in a whole SSE body (an unterminated last event is left out). */
export function parseSse(text: string): SseEvent[] {
  return new SseParser().push(text);
}

/**
 * A reader over a real HTTP event stream (fetch): collects every event and lets a test wait for the
 * next one matching a predicate. An answer that is not an event stream is a refusal: `text` holds
 * its body and no event ever comes.
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  /** Resolves when the server ends the stream (or it is closed). */
  readonly ended: Promise<void>;
  /** The body of a refusal (any answer that is not an event stream). */
  readonly text: Promise<string>;
  private consumed = 0;
  private waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private endWaiters: (() => void)[] = [];
  private done = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  private constructor(
    readonly response: Response,
    private readonly abort?: AbortController,
  ) {
    const isStream = response.ok && (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
    this.text = isStream ? Promise.resolve('') : response.text().catch(() => '');
    this.ended = isStream ? this.read() : this.text.then(() => this.finish());
  }

  get status(): number {
    return this.response.status;
  }

  /** Opens the stream with a GET; resolves once the response headers are in. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
    return new SseStream(response, abort);
  }

  /** Reads the body of a response the test already has (a POST answered with a stream, say). */
  static from(response: Response): SseStream {
    return new SseStream(response);
  }

  /** Resolves with the next not-yet-taken event that matches (already received or future). */
  next(match: (e: SseEvent) => boolean = () => true, timeoutMs = 5000): Promise<SseEvent> {
    const seen = this.events.slice(this.consumed).find(match);
    if (seen) {
      this.consumed = this.events.indexOf(seen) + 1;
      return Promise.resolve(seen);
    }
    if (this.done) return Promise.reject(new Error('SSE stream ended before a matching event'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A waiter that gave up must not take a later event from the next one.
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('timed out waiting for an SSE event'));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: SseEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
      this.endWaiters.push(() => {
        clearTimeout(timer);
        if (this.waiters.includes(waiter)) reject(new Error('SSE stream ended before a matching event'));
      });
    });
  }

  /** Stops reading and drops the connection. */
  close(): Promise<void> {
    this.abort?.abort();
    void this.reader?.cancel().catch(() => undefined);
    return this.ended;
  }

  private dispatch(event: SseEvent): void {
    this.events.push(event);
    const waiter = this.waiters.find((w) => w.match(event));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      this.consumed = this.events.length;
      waiter.resolve(event);
    }
  }

  private async read(): Promise<void> {
    if (!this.response.body) return this.finish();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      this.reader = this.response.body.getReader();
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        for (const event of parser.push(decoder.decode(value, { stream: true }))) this.dispatch(event);
      }
    } catch {
      // Closed, or the connection dropped: the stream has ended either way.
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    for (const end of this.endWaiters) end();
    this.endWaiters = [];
  }
}
