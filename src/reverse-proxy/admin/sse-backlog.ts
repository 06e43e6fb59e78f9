import type { MessageEvent } from '@nestjs/common';
import type { Subscriber } from 'rxjs';

/** How an admin SSE stream paces a client (SSE_KEEPALIVE_MS, SSE_MAX_BACKLOG). */
export interface SseStreamOptions {
  keepaliveMs: number;
  /** Events handed over in a row while the client is not draining before the stream gives up on it. */
  maxBacklog: number;
  /** True while the HTTP response is backed up (the client is not reading as fast as events come). */
  isBackedUp: () => boolean;
}

/**
 * What an admin SSE stream sends through: each event goes to `subscriber` while the client keeps
 * up; once `maxBacklog` events in a row found the response backed up, `dropped` goes instead and the
 * stream completes, so a client that stopped reading cannot make its backlog grow without bound.
 */
export function boundedSender(
  subscriber: Subscriber<MessageEvent>,
  options: Pick<SseStreamOptions, 'maxBacklog' | 'isBackedUp'>,
  dropped: MessageEvent,
): (message: MessageEvent) => void {
  let backlog = 0;
  return (message) => {
    backlog = options.isBackedUp() ? backlog + 1 : 0;
    if (backlog > options.maxBacklog) {
      subscriber.next(dropped);
      subscriber.complete();
      return;
    }
    subscriber.next(message);
  };
}

/** Sends `keepalive {timestamp}` through `send` every `keepaliveMs`; returns its stop. */
export function keepalive(send: (message: MessageEvent) => void, keepaliveMs: number): () => void {
  const timer = setInterval(() => send({ type: 'keepalive', data: { timestamp: new Date().toISOString() } }), keepaliveMs);
  return () => clearInterval(timer);
}
