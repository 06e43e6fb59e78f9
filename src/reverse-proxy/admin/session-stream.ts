import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';
import { boundedSender, keepalive, type SseStreamOptions } from './sse-backlog.js';

const logger = new Logger('SessionStream');

/** How the stream paces its client. */
export type SessionStreamOptions = SseStreamOptions;

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
    const push = boundedSender(subscriber, options, {
      type: 'dropped',
      data: { sessionId: session.id, reason: 'The client did not keep up with the events' },
    });
    const stopKeepalive = keepalive(push, options.keepaliveMs);
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
      stopKeepalive();
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
