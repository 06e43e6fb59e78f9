import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { Principal } from '../../auth/principal.js';
import { sessionRole } from '../tunnel/session-access.js';
import type { RegistryChange, SessionRegistry } from '../tunnel/session-registry.js';
import { SessionDto } from './dto/session.dto.js';
import { boundedSender, keepalive, type SseStreamOptions } from './sse-backlog.js';

const logger = new Logger('SessionListStream');

/**
 * The SSE feed of the sessions `principal` may see (as GET /reverse-proxy/sessions: admins all,
 * others their own, those shared with them and anonymous ones): `snapshot {sessions}` first, then
 * `added` / `updated` (a SessionDto with the caller's role) and `removed {session_id}` as sessions
 * come, change (registration, suspension, resume, access rules) and go, and `keepalive`. A session
 * whose new rules show it to the caller is `added`, one they hide from it `removed`. Counters are not
 * pushed (the list route has them). A client that stays backed up gets `dropped` and the stream ends.
 */
export function sessionListStream(registry: SessionRegistry, principal: Principal, options: SseStreamOptions): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    /** The sessions this caller was shown, so that an update or removal of another's never reaches it. */
    const shown = new Set<string>();
    const sessions: SessionDto[] = [];
    for (const session of registry.list()) {
      const role = sessionRole(session, principal);
      if (!role) continue;
      shown.add(session.id);
      sessions.push(SessionDto.from(session, role));
    }
    subscriber.next({ type: 'snapshot', data: { sessions } });
    const push = boundedSender(subscriber, options, { type: 'dropped', data: { reason: 'The client did not keep up with the events' } });
    const stopKeepalive = keepalive(push, options.keepaliveMs);
    let failed = false;
    const changes = registry.changes$.subscribe((change) => {
      // RxJS rethrows a subscriber's error on a timer, which would end the process: skip the change instead.
      try {
        const message = messageFor(change, principal, shown);
        if (message) push(message);
      } catch (err) {
        if (!failed) logger.error({ msg: 'Session list event dropped', sessionId: change.session.id, error: String(err) });
        failed = true;
      }
    });
    return () => {
      stopKeepalive();
      changes.unsubscribe();
    };
  });
}

/** What a registry change is to a caller who was shown `shown`: added, updated, removed, or nothing. */
function messageFor(change: RegistryChange, principal: Principal, shown: Set<string>): MessageEvent | undefined {
  const { session } = change;
  const role = change.type === 'removed' || !session.isOpen ? undefined : sessionRole(session, principal);
  if (!role) return shown.delete(session.id) ? { type: 'removed', data: { session_id: session.id } } : undefined;
  const data = SessionDto.from(session, role);
  const known = shown.has(session.id);
  shown.add(session.id);
  return { type: known ? 'updated' : 'added', data };
}
