/** One event of a session's stream, as the log keeps it. */
export interface LogEntry {
  /** Increasing number, unique in the log (a stable key for the view). */
  seq: number;
  /** When the console received it (epoch ms). */
  at: number;
  /** The SSE event name: response, notification, request, connected, closed, ... */
  type: string;
  /** The event's data as received (cut at the entry limit). */
  data: string;
  /** The data was longer than the entry limit and was cut. */
  truncated: boolean;
}

/** How much the log holds: entries, characters in all, characters per entry. */
export interface LogLimits {
  maxEntries: number;
  maxTotalChars: number;
  maxEntryChars: number;
}

/** 500 events, 2 MB of text, 256 KB per event: enough to read, bounded for a tab left open. */
export const DEFAULT_LOG_LIMITS: LogLimits = { maxEntries: 500, maxTotalChars: 2_000_000, maxEntryChars: 256_000 };

/**
 * The newest events of a stream, bounded by count and size: the oldest go first. While paused, what
 * arrives is still kept (within the bounds) but `visible()` stays as it was when paused, so the
 * reader's place does not move; `pendingCount` says how many came since.
 */
export class EventLog {
  private entries: LogEntry[] = [];
  private chars = 0;
  private seq = 0;
  private frozen: LogEntry[] | undefined;
  private pendingSince = 0;
  /** Entries let go to stay within the bounds. */
  dropped = 0;

  constructor(
    private readonly limits: LogLimits = DEFAULT_LOG_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds an event; returns the entry kept. */
  push(type: string, data: string): LogEntry {
    const truncated = data.length > this.limits.maxEntryChars;
    const entry: LogEntry = {
      seq: ++this.seq,
      at: this.now(),
      type,
      data: truncated ? data.slice(0, this.limits.maxEntryChars) : data,
      truncated,
    };
    this.entries.push(entry);
    this.chars += entry.data.length;
    while (this.entries.length > this.limits.maxEntries || (this.chars > this.limits.maxTotalChars && this.entries.length > 1)) {
      const gone = this.entries.shift()!;
      this.chars -= gone.data.length;
      this.dropped++;
    }
    if (this.frozen) this.pendingSince++;
    return entry;
  }

  /** What the view shows, newest last: everything kept, or the entries as they were when paused. */
  visible(): readonly LogEntry[] {
    return this.frozen ?? this.entries;
  }

  /** Whether the view is paused. */
  get paused(): boolean {
    return this.frozen !== undefined;
  }

  /** Events received since the pause. */
  get pendingCount(): number {
    return this.pendingSince;
  }

  /** Freezes the view. */
  pause(): void {
    if (!this.frozen) this.frozen = [...this.entries];
    this.pendingSince = 0;
  }

  /** Shows everything kept again. */
  resume(): void {
    this.frozen = undefined;
    this.pendingSince = 0;
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries = [];
    this.chars = 0;
    if (this.frozen) this.frozen = [];
    this.pendingSince = 0;
  }
}

/** A one-line summary of an event's JSON-RPC payload: method and id, or the error. */
export function summarize(type: string, data: string): string {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return data.slice(0, 120);
  }
  if (typeof value !== 'object' || value === null) return String(value).slice(0, 120);
  const v = value as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof v.method === 'string') parts.push(v.method.slice(0, 100));
  if (typeof v.id === 'string' || typeof v.id === 'number') parts.push(`id ${String(v.id).slice(0, 40)}`);
  if (typeof v.error === 'object' && v.error !== null) {
    const message = (v.error as Record<string, unknown>).message;
    parts.push(`error${typeof message === 'string' ? `: ${message.slice(0, 100)}` : ''}`);
  } else if ('result' in v) parts.push('result');
  if (type === 'closed' && typeof v.reason === 'string') parts.push(v.reason.slice(0, 100));
  return parts.join(' · ');
}
