import { ApiError } from './api.js';
import type { SseEvent } from './sse-parser.js';
import { readSse } from './sse-reader.js';

/** Where a followed stream stands. */
export type FollowState =
  /** Connected: events arrive as they happen. */
  | { kind: 'live' }
  /** Lost or not yet open: trying again after a pause. */
  | { kind: 'retrying' }
  /** Given up for good: refused (401, 403, 404), or the stream said it is over. */
  | { kind: 'stopped'; error?: ApiError };

/** Statuses that opening the stream again would not change. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 405]);

/** Options of follow(). */
export interface FollowOptions {
  /** Aborting it ends the stream and stops following. */
  signal: AbortSignal;
  /** Pause before opening a lost stream again. */
  retryMs: number;
  /** Called on every change of state. */
  onState: (state: FollowState) => void;
  /** Waits `ms` (or until aborted); injected so tests need no timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Follows an event stream for as long as it is wanted: opens it, hands every event to `onEvent`
 * (which returns 'stop' for an event that ends it, such as `closed`), and opens it again after
 * `retryMs` when it ends or fails, until aborted or refused for good.
 */
export async function follow(
  open: (signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>,
  onEvent: (event: SseEvent) => 'stop' | void,
  options: FollowOptions,
): Promise<void> {
  const sleep = options.sleep ?? abortableSleep;
  const { signal } = options;
  while (!signal.aborted) {
    const connection = new AbortController();
    const abortConnection = (): void => connection.abort();
    signal.addEventListener('abort', abortConnection, { once: true });
    let stopped = false;
    try {
      const body = await open(connection.signal);
      options.onState({ kind: 'live' });
      await readSse(
        body,
        (event) => {
          if (stopped) return;
          if (onEvent(event) === 'stop') {
            stopped = true;
            connection.abort();
          }
        },
        connection.signal,
      );
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && FINAL_STATUSES.has(err.status)) {
        options.onState({ kind: 'stopped', error: err });
        return;
      }
    } finally {
      signal.removeEventListener('abort', abortConnection);
    }
    if (signal.aborted) return;
    if (stopped) {
      options.onState({ kind: 'stopped' });
      return;
    }
    options.onState({ kind: 'retrying' });
    await sleep(options.retryMs, signal);
  }
}

/** setTimeout as a promise that also settles when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
