/** One Server-Sent Event as read off the wire. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** The data of an event parsed as JSON. */
export const json = <T = any>(e: SseEvent): T => JSON.parse(e.data) as T;

/**
 * A minimal SSE reader over a real HTTP stream (fetch): parses `event:`/`data:`/`id:` lines,
 * collects every event, and lets a test wait for the next one matching a predicate.
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  /** Resolves when the server ends the stream (or it is aborted). */
  readonly ended: Promise<void>;
  private consumed = 0;
  private waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private endWaiters: (() => void)[] = [];
  private done = false;

  /** The body of a refusal (any answer that is not an event stream). */
  readonly text: Promise<string>;

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {
    const isStream = response.ok && (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
    this.text = isStream ? Promise.resolve('') : response.text().catch(() => '');
    this.ended = isStream ? this.read() : this.text.then(() => this.finish());
  }

  get status(): number {
    return this.response.status;
  }

  /** Opens the stream; resolves once the response headers are in. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
    return new SseStream(response, abort);
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
      const timer = setTimeout(() => reject(new Error('timed out waiting for an SSE event')), timeoutMs);
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
    this.abort.abort();
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
    let buffer = '';
    let current: { event?: string; data: string[]; id?: string } = { data: [] };
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r?\n/)) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer[newline] === '\r' ? 2 : 1));
          if (line === '') {
            if (current.data.length > 0 || current.event) {
              this.dispatch({ event: current.event ?? 'message', data: current.data.join('\n'), id: current.id });
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') current.event = value;
          else if (field === 'data') current.data.push(value);
          else if (field === 'id') current.id = value;
        }
      }
    } catch {
      // Aborted by close(), or the connection dropped: the stream has ended either way.
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    for (const end of this.endWaiters) end();
    this.endWaiters = [];
  }
}
