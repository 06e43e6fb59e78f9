import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { SessionEvent } from './session-event.js';
import type { TunnelSession } from './tunnel-session.js';

/**
 * A session's SSE feed: `connected` first, then every session event as it happens, `keepalive`
 * at an interval, and `closed` last, after which the stream completes.
 */
export function sessionStream(session: TunnelSession, keepaliveMs: number): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    subscriber.next({ type: 'connected', data: { sessionId: session.id, serverInfo: session.server ?? {} } });
    if (!session.isOpen) {
      subscriber.next(closedEvent(session.id, session.closeReason ?? 'closed'));
      subscriber.complete();
      return undefined;
    }
    const keepalive = setInterval(
      () => subscriber.next({ type: 'keepalive', data: { timestamp: new Date().toISOString() } }),
      keepaliveMs,
    );
    const events = session.events$.subscribe({
      next: (event) => subscriber.next(toMessage(session.id, event)),
      complete: () => subscriber.complete(),
    });
    return () => {
      clearInterval(keepalive);
      events.unsubscribe();
    };
  });
}

function toMessage(sessionId: string, event: SessionEvent): MessageEvent {
  return event.type === 'closed' ? closedEvent(sessionId, event.reason) : { type: event.type, data: event.payload };
}

function closedEvent(sessionId: string, reason: string): MessageEvent {
  return { type: 'closed', data: { sessionId, reason } };
}
