/**
 * Server-Sent Events, parsed incrementally and bounded: the console reads its streams through
 * `fetch` (so the token travels in a header, never in a URL), and a peer that sends an endless line
 * or a giant event must not grow the tab's memory without bound.
 */

/** One event as read off the wire. */
export interface SseEvent {
  /** The `event:` field; `message` when the event has none. */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The `id:` field, when one was sent. */
  id?: string;
}

/** How much one line and one event may hold (characters). */
export interface SseLimits {
  maxLineChars: number;
  maxEventChars: number;
}

/** 1 MiB per line and per event: far above any event the gateway sends, far below trouble. */
export const DEFAULT_SSE_LIMITS: SseLimits = { maxLineChars: 1024 * 1024, maxEventChars: 1024 * 1024 };

/**
 * Feed it text as it arrives, get back the events it completes. Handles `\n`, `\r\n` and `\r`
 * line ends and comments. A line or an event over the limits is skipped whole (counted in `skipped`),
 * and parsing carries on at the next event.
 */
export class SseParser {
  private buffer = '';
  /** How far `buffer` is known to hold no line end (so a long line is not scanned again for every chunk). */
  private scanned = 0;
  private event: string | undefined;
  private data: string[] = [];
  private dataChars = 0;
  private id: string | undefined;
  /** Inside an oversized line: drop text until its end. */
  private skippingLine = false;
  /** The current event went over a limit: drop it at its end. */
  private eventTooLarge = false;
  /** Events dropped for being over a limit. */
  skipped = 0;

  constructor(private readonly limits: SseLimits = DEFAULT_SSE_LIMITS) {}

  /** Parses `text` (any slice of the stream) and returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = lineEnd(this.buffer, this.scanned);
      if (end === undefined) {
        this.scanned = Math.max(0, this.buffer.length - 1);
        break;
      }
      const line = this.buffer.slice(0, end.at);
      this.buffer = this.buffer.slice(end.at + end.length);
      this.scanned = 0;
      if (this.skippingLine) {
        this.skippingLine = false;
        continue;
      }
      const event = this.line(line);
      if (event) events.push(event);
    }
    if (this.buffer.length > this.limits.maxLineChars) {
      // A line that never ends: forget it, and its event.
      this.buffer = '';
      this.scanned = 0;
      this.skippingLine = true;
      this.eventTooLarge = true;
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    else if (field === 'data') {
      this.dataChars += value.length + 1;
      if (this.dataChars > this.limits.maxEventChars) this.eventTooLarge = true;
      else this.data.push(value);
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const { event, data, id, eventTooLarge } = this;
    this.event = undefined;
    this.data = [];
    this.dataChars = 0;
    this.id = undefined;
    this.eventTooLarge = false;
    if (eventTooLarge) {
      this.skipped++;
      return undefined;
    }
    if (data.length === 0 && event === undefined && id === undefined) return undefined;
    return { event: event ?? 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
  }
}

/** Where the first complete line of `text` ends (searching from `from`); undefined while a lone `\r` at the end may be half of `\r\n`. */
function lineEnd(text: string, from: number): { at: number; length: number } | undefined {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) return { at: i, length: 1 };
    if (c === 13) {
      if (i + 1 === text.length) return undefined;
      return { at: i, length: text.charCodeAt(i + 1) === 10 ? 2 : 1 };
    }
  }
  return undefined;
}
