/** The tunnels: a live table, filtered by name or owner, a page at a time. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, type GatewayApi } from '../lib/api.js';
import { follow, type FollowState } from '../lib/follow.js';
import { formatAgo, formatBytes, formatCount, textOf } from '../lib/format.js';
import { hashOf } from '../lib/routes.js';
import { changeOf, filterSessions, pageOf, SessionTable } from '../lib/session-table.js';
import type { Session } from '../lib/types.js';
import { usePoll } from './hooks.js';

/** Counters are not pushed: the list is read again this often (and the stream adds and removes rows in between). */
const POLL_MS = 4000;
/** Pause before the list stream is opened again after it was lost. */
const STREAM_RETRY_MS = 5000;

export function TunnelsView({ api, onAuthError }: { api: GatewayApi; onAuthError: (err: unknown) => void }) {
  const [table, setTable] = useState<SessionTable>();
  const [error, setError] = useState<string>();
  const [stream, setStream] = useState<FollowState>({ kind: 'retrying' });
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [now, setNow] = useState(Date.now());

  usePoll(
    async () => {
      try {
        const list = await api.listSessions();
        setTable(SessionTable.of(list.sessions));
        setError(undefined);
      } catch (err) {
        onAuthError(err);
        setError(err instanceof ApiError ? err.message : 'The gateway could not be reached; trying again.');
      }
      setNow(Date.now());
    },
    POLL_MS,
    [api],
  );

  useEffect(() => {
    const abort = new AbortController();
    void follow(
      (signal) => api.openStream('/reverse-proxy/sse', signal),
      (event) => {
        const change = changeOf(event.event, event.data);
        if (change) setTable((t) => (t ?? SessionTable.of([])).apply(change));
      },
      {
        signal: abort.signal,
        retryMs: STREAM_RETRY_MS,
        onState: (state) => {
          if (state.kind === 'stopped') onAuthError(state.error);
          setStream(state);
        },
      },
    );
    return () => abort.abort();
  }, [api, onAuthError]);

  const rows = useMemo(() => filterSessions(table?.sorted() ?? [], filter), [table, filter]);
  const shown = pageOf(rows, page);

  return (
    <section aria-labelledby="tunnels-title">
      <div class="titlebar">
        <h1 id="tunnels-title">Tunnels</h1>
        <span class={`live ${stream.kind === 'live' ? 'on' : 'off'}`} title="How the list stays current">
          {stream.kind === 'live' ? 'Live' : `Refreshed every ${POLL_MS / 1000} s`}
        </span>
      </div>
      <div class="toolbar">
        <label for="filter">Filter by name or owner</label>
        <input
          id="filter"
          type="search"
          value={filter}
          maxLength={200}
          onInput={(e) => {
            setFilter(e.currentTarget.value);
            setPage(0);
          }}
        />
        <span class="count" aria-live="polite">
          {table === undefined
            ? 'Loading…'
            : rows.length === table.size
              ? `${formatCount(table.size)} tunnel${table.size === 1 ? '' : 's'}`
              : `${formatCount(rows.length)} of ${formatCount(table.size)} tunnels`}
        </span>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="tunnels">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">State</th>
              <th scope="col">Connected</th>
              <th scope="col">Server</th>
              <th scope="col" class="num">
                In flight
              </th>
              <th scope="col" class="num">
                Messages in / out
              </th>
              <th scope="col" class="num">
                Bytes in / out
              </th>
              <th scope="col">Last activity</th>
            </tr>
          </thead>
          <tbody>
            {shown.rows.map((s) => (
              <SessionRow key={s.session_id} session={s} now={now} />
            ))}
            {table !== undefined && shown.rows.length === 0 && (
              <tr>
                <td colSpan={9} class="empty">
                  {table.size === 0 ? 'No tunnels are connected.' : 'No tunnel matches the filter.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {shown.pages > 1 && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={shown.page === 0} onClick={() => setPage(shown.page - 1)}>
            Previous
          </button>
          <span>
            {formatCount(shown.from)}–{formatCount(shown.to)} of {formatCount(shown.total)} (page {shown.page + 1} of {shown.pages})
          </span>
          <button type="button" class="secondary" disabled={shown.page >= shown.pages - 1} onClick={() => setPage(shown.page + 1)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

function SessionRow({ session: s, now }: { session: Session; now: number }) {
  const server = [textOf(s.server_info.name, 80), textOf(s.server_info.version, 40)].filter((t) => t !== '').join(' ');
  const messages =
    s.messages_in !== undefined && s.messages_out !== undefined
      ? `${formatCount(s.messages_in)} / ${formatCount(s.messages_out)}`
      : formatCount(s.message_count);
  return (
    <tr data-session={s.session_id}>
      <th scope="row">
        <a href={hashOf({ page: 'tunnel', id: s.session_id })}>{s.name ?? '(unnamed)'}</a>
      </th>
      <td>{s.user ?? 'anonymous'}</td>
      <td>
        <span class={`state state-${s.state === 'ready' ? 'ready' : 'other'}`}>{s.state}</span>
      </td>
      <td title={s.connected_at}>{formatAgo(s.connected_at, now)}</td>
      <td>{server || '–'}</td>
      <td class="num">{formatCount(s.pending_requests)}</td>
      <td class="num">{messages}</td>
      <td class="num">
        {formatBytes(s.bytes_in)} / {formatBytes(s.bytes_out)}
      </td>
      <td title={s.last_activity}>{formatAgo(s.last_activity, now)}</td>
    </tr>
  );
}
