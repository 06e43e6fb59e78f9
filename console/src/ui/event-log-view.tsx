/** The live event log of one tunnel: newest first, each event's JSON collapsible; pausable, bounded. */
import { summarize, type EventLog } from '../lib/event-log.js';
import { formatCount, formatTime } from '../lib/format.js';
import type { FollowState } from '../lib/follow.js';
import { JsonView } from './json-view.js';

export interface EventLogViewProps {
  log: EventLog;
  state: FollowState;
  /** Re-render after a pause, resume or clear (the log is mutable). */
  onChange: () => void;
}

export function EventLogView({ log, state, onChange }: EventLogViewProps) {
  const entries = [...log.visible()].reverse();
  const status =
    state.kind === 'live'
      ? 'Following'
      : state.kind === 'retrying'
        ? 'Connecting…'
        : state.error?.status === 403
          ? "Only the tunnel's owner or an admin can follow its events."
          : state.error
            ? `Not following: ${state.error.message}`
            : 'The stream ended (the tunnel closed).';
  return (
    <section class="panel events" aria-labelledby="events-title">
      <div class="titlebar">
        <h2 id="events-title">Events</h2>
        <span class={`live ${state.kind === 'live' ? 'on' : 'off'}`}>{status}</span>
      </div>
      <div class="toolbar">
        <button
          type="button"
          class="secondary"
          aria-pressed={log.paused}
          onClick={() => {
            if (log.paused) log.resume();
            else log.pause();
            onChange();
          }}
        >
          {log.paused ? 'Resume' : 'Pause'}
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            log.clear();
            onChange();
          }}
        >
          Clear
        </button>
        <span class="count" aria-live="polite">
          {formatCount(log.visible().length)} shown
          {log.paused && log.pendingCount > 0 ? `, ${formatCount(log.pendingCount)} new while paused` : ''}
          {log.dropped > 0 ? `, ${formatCount(log.dropped)} older ones let go` : ''}
        </span>
      </div>
      {entries.length === 0 ? (
        <p class="empty">No events yet. Requests, responses, notifications and the server's own requests appear here as they happen.</p>
      ) : (
        <ol class="log">
          {entries.map((e) => (
            <li key={e.seq} class={`log-entry type-${/^[a-z_]+$/.test(e.type) ? e.type : 'other'}`}>
              <details>
                <summary>
                  <time>{formatTime(e.at)}</time> <span class="badge">{e.type}</span>{' '}
                  <span class="summary">{summarize(e.type, e.data)}</span>
                  {e.truncated && <span class="badge warn">cut</span>}
                </summary>
                <JsonView text={e.data} />
              </details>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
