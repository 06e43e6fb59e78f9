import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

const logger = new Logger('SessionStream');

export interface SessionStreamOptions {
  keepaliveMs: number;
  /** Events handed over in a row while the client is not draining before the stream gives up on it. */
  maxBacklog: number;
  /** True while the HTTP response is backed up (the client is not reading as fast as events come). */
  isBackedUp: () => boolean;
}

/**
 * A session's SSE feed: `connected` first, then every session event as it happens, `keepalive`
 * at an interval, and `closed` last, after which the stream completes. A client that stops
 * keeping up gets a `dropped` event and the stream ends, so its backlog cannot grow without bound.
 */
export function sessionStream(session: SessionHandle, options: SessionStreamOptions): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    subscriber.next({ type: 'connected', data: { sessionId: session.id, serverInfo: session.server ?? {} } });
    if (!session.isOpen) {
      subscriber.next(closedEvent(session.id, session.closeReason ?? 'closed'));
      subscriber.complete();
      return undefined;
    }
    const unfollow = session.addStreamSubscriber();
    let backlog = 0;
    const push = (message: MessageEvent): void => {
      backlog = options.isBackedUp() ? backlog + 1 : 0;
      if (backlog > options.maxBacklog) {
        subscriber.next({ type: 'dropped', data: { sessionId: session.id, reason: 'The client did not keep up with the events' } });
        subscriber.complete();
        return;
      }
      subscriber.next(message);
    };
    const keepalive = setInterval(() => push({ type: 'keepalive', data: { timestamp: new Date().toISOString() } }), options.keepaliveMs);
    let failed = false;
    const events = session.events$.subscribe({
      next: (event) => {
        // RxJS rethrows a subscriber's error on a timer, which would end the process: skip the event instead.
        try {
          push(toMessage(session.id, event));
        } catch (err) {
          if (!failed) logger.error({ msg: 'SSE event dropped', sessionId: session.id, error: String(err) });
          failed = true;
        }
      },
      complete: () => subscriber.complete(),
    });
    return () => {
      unfollow();
      clearInterval(keepalive);
      events.unsubscribe();
    };
  });
}

function toMessage(sessionId: string, event: SessionEvent): MessageEvent {
  if (event.type === 'closed') return closedEvent(sessionId, event.reason);
  if (event.type === 'suspended' || event.type === 'resumed') return { type: event.type, data: { sessionId } };
  return { type: event.type, data: jsonOf(event) };
}

/**
 * An event's payload as JSON, made once however many streams the event reaches (Nest writes a
 * string as it is, and would otherwise stringify the same object again for every subscriber).
 */
const payloadJson = new WeakMap<SessionEvent, string>();
function jsonOf(event: Extract<SessionEvent, { payload: unknown }>): string {
  let json = payloadJson.get(event);
  if (json === undefined) {
    json = JSON.stringify(event.payload);
    payloadJson.set(event, json);
  }
  return json;
}

function closedEvent(sessionId: string, reason: string): MessageEvent {
  return { type: 'closed', data: { sessionId, reason } };
}
