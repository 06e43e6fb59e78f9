/** One tunnel: its server, traffic, connection snippets, what it offers, a tool call form, its live events. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { clientSnippets, TOKEN_PLACEHOLDER_NOTE } from '../../../src/protocol/client-snippets.js';
import { ApiError, type GatewayApi } from '../lib/api.js';
import {
  capabilityNames,
  hasMore,
  promptsOf,
  resourcesOf,
  toolsOf,
  type PromptItem,
  type ResourceItem,
  type ToolItem,
} from '../lib/catalog.js';
import { callsPerSecond, lastValue } from '../lib/chart.js';
import { EventLog } from '../lib/event-log.js';
import { follow, type FollowState } from '../lib/follow.js';
import { formatAgo, formatBytes, formatCount, formatMs, textOf } from '../lib/format.js';
import { mcpUrlOf } from '../lib/routes.js';
import type { Session, SessionStats } from '../lib/types.js';
import { Chart } from './chart.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { CopyButton } from './copy-button.js';
import { EventLogView } from './event-log-view.js';
import { usePoll } from './hooks.js';
import { ToolForm } from './tool-form.js';

/** How often the session's counters and its stats are read again. */
const SESSION_POLL_MS = 3000;
const STATS_POLL_MS = 10_000;
/** Pause before the event stream is opened again after it was lost. */
const STREAM_RETRY_MS = 3000;

interface Props {
  api: GatewayApi;
  id: string;
  onAuthError: (err: unknown) => void;
}

export function TunnelView({ api, id, onAuthError }: Props) {
  const [session, setSession] = useState<Session>();
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(Date.now());

  usePoll(
    async () => {
      try {
        setSession(await api.getSession(id));
        setError(undefined);
      } catch (err) {
        onAuthError(err);
        if (err instanceof ApiError && err.status === 404) setGone(true);
        else setError(err instanceof ApiError ? err.message : 'The gateway could not be reached; trying again.');
      }
      setNow(Date.now());
    },
    SESSION_POLL_MS,
    [api, id],
  );

  if (gone) {
    return (
      <section class="panel">
        <h1>Tunnel gone</h1>
        <p>This tunnel is no longer connected (its client stopped or was disconnected).</p>
        <p>
          <a href="#/">Back to the tunnels</a>
        </p>
      </section>
    );
  }
  if (!session) {
    return <p role="status">{error ?? 'Loading…'}</p>;
  }
  const name = session.name ?? '(unnamed)';
  return (
    <div class="tunnel">
      <div class="titlebar">
        <p class="crumbs">
          <a href="#/">Tunnels</a> /
        </p>
        <h1>{name}</h1>
        <span class={`state state-${session.state === 'ready' ? 'ready' : 'other'}`}>{session.state}</span>
        {session.role !== 'user' && <DisconnectButton api={api} session={session} onAuthError={onAuthError} />}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="grid">
        <ServerPanel session={session} now={now} />
        <TrafficPanel api={api} session={session} onAuthError={onAuthError} />
      </div>
      {session.name !== undefined && <ConnectPanel name={session.name} />}
      <Catalog api={api} session={session} onAuthError={onAuthError} />
      <EventsPanel api={api} id={id} onAuthError={onAuthError} />
    </div>
  );
}

function ServerPanel({ session: s, now }: { session: Session; now: number }) {
  const info = s.server_info;
  const capabilities = capabilityNames(info.capabilities);
  return (
    <section class="panel" aria-labelledby="server-title">
      <h2 id="server-title">Server</h2>
      <dl class="facts">
        <dt>Server</dt>
        <dd>{[textOf(info.title ?? info.name, 200), textOf(info.version, 60)].filter((t) => t !== '').join(' ') || '–'}</dd>
        <dt>Protocol</dt>
        <dd>{textOf(info.protocolVersion, 40) || '–'}</dd>
        <dt>Capabilities</dt>
        <dd>{capabilities.length ? capabilities.join(', ') : 'none declared'}</dd>
        <dt>Owner</dt>
        <dd>{s.user ?? 'anonymous'}</dd>
        <dt>Your role</dt>
        <dd>{s.role}</dd>
        <dt>Connected</dt>
        <dd title={s.connected_at}>{formatAgo(s.connected_at, now)}</dd>
        <dt>Last activity</dt>
        <dd title={s.last_activity}>{formatAgo(s.last_activity, now)}</dd>
        <dt>Session id</dt>
        <dd>
          <code>{s.session_id}</code>
        </dd>
      </dl>
      {typeof info.instructions === 'string' && info.instructions !== '' && (
        <details>
          <summary>Instructions</summary>
          <pre class="instructions">{textOf(info.instructions, 10_000)}</pre>
        </details>
      )}
      {info.capabilities !== undefined && (
        <details>
          <summary>Capabilities (JSON)</summary>
          <pre>{JSON.stringify(info.capabilities, null, 2).slice(0, 20_000)}</pre>
        </details>
      )}
    </section>
  );
}

function TrafficPanel({ api, session: s, onAuthError }: { api: GatewayApi; session: Session; onAuthError: (err: unknown) => void }) {
  const [stats, setStats] = useState<SessionStats>();
  const [statsError, setStatsError] = useState<string>();
  usePoll(
    async () => {
      try {
        setStats(await api.stats(s.session_id));
        setStatsError(undefined);
      } catch (err) {
        onAuthError(err);
        setStatsError(
          err instanceof ApiError && err.status === 404 ? 'This gateway does not keep call statistics.' : 'Statistics unavailable.',
        );
      }
    },
    STATS_POLL_MS,
    [api, s.session_id],
  );
  const rate = stats ? callsPerSecond(stats.points, stats.interval_s) : [];
  const p50 = stats ? stats.points.map((p) => p.p50_ms) : [];
  const p99 = stats ? stats.points.map((p) => p.p99_ms) : [];
  return (
    <section class="panel" aria-labelledby="traffic-title">
      <h2 id="traffic-title">Traffic</h2>
      <dl class="facts">
        <dt>Calls in flight</dt>
        <dd>{formatCount(s.pending_requests)}</dd>
        <dt>Messages in / out</dt>
        <dd>
          {s.messages_in !== undefined && s.messages_out !== undefined
            ? `${formatCount(s.messages_in)} / ${formatCount(s.messages_out)}`
            : `${formatCount(s.message_count)} in all`}
        </dd>
        <dt>Bytes in / out</dt>
        <dd>
          {formatBytes(s.bytes_in)} / {formatBytes(s.bytes_out)}
        </dd>
        {stats && (
          <>
            <dt>Calls (last {Math.round(stats.window_s / 60)} min)</dt>
            <dd>
              {formatCount(stats.calls_total)} ({formatCount(stats.errors_total)} failed)
            </dd>
          </>
        )}
      </dl>
      {stats ? (
        <div class="charts">
          <Chart
            title="Calls per second"
            unit={(n) => `${Number(n.toFixed(2))}/s`}
            lines={[{ label: 'calls/s', series: rate, tone: 'chart-a', latest: `${(lastValue(rate) ?? 0).toFixed(2)}/s` }]}
          />
          <Chart
            title="Latency"
            unit={formatMs}
            lines={[
              { label: 'p50', series: p50, tone: 'chart-a', latest: formatMs(lastValue(p50)) },
              { label: 'p99', series: p99, tone: 'chart-b', latest: formatMs(lastValue(p99)) },
            ]}
          />
        </div>
      ) : (
        <p class="help">{statsError ?? 'Loading statistics…'}</p>
      )}
    </section>
  );
}

function ConnectPanel({ name }: { name: string }) {
  const url = mcpUrlOf(location.origin, name);
  const snippets = clientSnippets(name, url);
  const rows: [string, string][] = [
    ['MCP Inspector', snippets.inspector],
    ['Claude Desktop (claude_desktop_config.json, through mcp-remote)', snippets.claudeDesktop],
    ['mcp.json / .vscode/mcp.json', snippets.mcpJson],
  ];
  return (
    <section class="panel" aria-labelledby="connect-title">
      <h2 id="connect-title">Connect an MCP client</h2>
      <div class="snippet">
        <span class="snippet-label">MCP URL</span>
        <code class="mcp-url">{url}</code>
        <CopyButton text={url} label="Copy the MCP URL" />
      </div>
      <p class="help">{TOKEN_PLACEHOLDER_NOTE}.</p>
      {rows.map(([label, text]) => (
        <div class="snippet" key={label}>
          <span class="snippet-label">{label}</span>
          <pre>{text}</pre>
          <CopyButton text={text} label={`Copy the ${label} snippet`} />
        </div>
      ))}
    </section>
  );
}

interface CatalogState {
  tools?: ToolItem[];
  prompts?: PromptItem[];
  resources?: ResourceItem[];
  more: string[];
  errors: string[];
}

function Catalog({ api, session, onAuthError }: { api: GatewayApi; session: Session; onAuthError: (err: unknown) => void }) {
  const [catalog, setCatalog] = useState<CatalogState>({ more: [], errors: [] });
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<string>();
  const [reloads, setReloads] = useState(0);
  // A string, not the object: every poll brings a new object, and the lists must not be fetched again for it.
  const capabilityKey = capabilityNames(session.server_info.capabilities).join(',');
  const ready = session.state === 'ready';

  useEffect(() => {
    if (!ready) return;
    let cancelled = false;
    setLoading(true);
    const capabilities = new Set(capabilityKey.split(','));
    const load = async (): Promise<void> => {
      const next: CatalogState = { more: [], errors: [] };
      const list = async (method: string, what: string, read: (result: unknown) => void): Promise<void> => {
        try {
          const answer = await api.call(session.session_id, method);
          if (answer.error) next.errors.push(`${what}: ${answer.error.message}`);
          else {
            read(answer.result);
            if (hasMore(answer.result)) next.more.push(what);
          }
        } catch (err) {
          onAuthError(err);
          next.errors.push(`${what}: ${err instanceof ApiError ? err.message : 'not reachable'}`);
        }
      };
      if (capabilities.has('tools')) await list('tools/list', 'Tools', (r) => (next.tools = toolsOf(r)));
      if (capabilities.has('prompts')) await list('prompts/list', 'Prompts', (r) => (next.prompts = promptsOf(r)));
      if (capabilities.has('resources')) await list('resources/list', 'Resources', (r) => (next.resources = resourcesOf(r)));
      if (!cancelled) {
        setCatalog(next);
        setLoading(false);
      }
    };
    void load();
    return () => {
      cancelled = true;
    };
  }, [api, session.session_id, ready, capabilityKey, reloads, onAuthError]);

  const tool = catalog.tools?.find((t) => t.name === selected);
  return (
    <section class="panel" aria-labelledby="catalog-title">
      <div class="titlebar">
        <h2 id="catalog-title">What it offers</h2>
        <button type="button" class="secondary small" onClick={() => setReloads((n) => n + 1)} disabled={loading || !ready}>
          {loading ? 'Loading…' : 'Reload'}
        </button>
      </div>
      {!ready && <p class="help">The tunnel is not ready yet (its MCP handshake is not done).</p>}
      {catalog.errors.map((e) => (
        <p class="error" key={e}>
          {e}
        </p>
      ))}
      {catalog.more.length > 0 && <p class="help">Only the first page is shown for: {catalog.more.join(', ')}.</p>}
      <div class="grid">
        <div>
          <h3>Tools ({catalog.tools?.length ?? 0})</h3>
          {catalog.tools?.length ? (
            <ul class="items">
              {catalog.tools.map((t) => (
                <li key={t.name}>
                  <button
                    type="button"
                    class={`linklike ${selected === t.name ? 'selected' : ''}`}
                    aria-pressed={selected === t.name}
                    onClick={() => setSelected(t.name)}
                  >
                    {t.name}
                  </button>
                  {t.description && <span class="help"> — {t.description}</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p class="help">None.</p>
          )}
          <h3>Prompts ({catalog.prompts?.length ?? 0})</h3>
          {catalog.prompts?.length ? (
            <ul class="items">
              {catalog.prompts.map((p) => (
                <li key={p.name}>
                  <strong>{p.name}</strong>
                  {p.arguments.length > 0 && <span class="help"> ({p.arguments.join(', ')})</span>}
                  {p.description && <span class="help"> — {p.description}</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p class="help">None.</p>
          )}
          <h3>Resources ({catalog.resources?.length ?? 0})</h3>
          {catalog.resources?.length ? (
            <ul class="items">
              {catalog.resources.map((r) => (
                <li key={r.uri}>
                  <code>{r.uri}</code>
                  {r.name && <span> {r.name}</span>}
                  {r.mimeType && <span class="help"> ({r.mimeType})</span>}
                  {r.description && <span class="help"> — {r.description}</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p class="help">None.</p>
          )}
        </div>
        <div>
          <h3>Call a tool</h3>
          {tool ? (
            <ToolForm key={tool.name} api={api} sessionId={session.session_id} tool={tool} onAuthError={onAuthError} />
          ) : (
            <p class="help">Choose a tool on the left to call it through the tunnel.</p>
          )}
        </div>
      </div>
    </section>
  );
}

function EventsPanel({ api, id, onAuthError }: { api: GatewayApi; id: string; onAuthError: (err: unknown) => void }) {
  const log = useMemo(() => new EventLog(), []);
  const [state, setState] = useState<FollowState>({ kind: 'retrying' });
  const [, setVersion] = useState(0);
  const rerender = (): void => setVersion((v) => v + 1);
  useEffect(() => {
    const abort = new AbortController();
    void follow(
      (signal) => api.openStream(`/reverse-proxy/sse/${encodeURIComponent(id)}`, signal),
      (event) => {
        if (event.event === 'keepalive') return;
        log.push(event.event, event.data);
        setVersion((v) => v + 1);
        if (event.event === 'closed') return 'stop';
        return undefined;
      },
      {
        signal: abort.signal,
        retryMs: STREAM_RETRY_MS,
        onState: (s) => {
          if (s.kind === 'stopped') onAuthError(s.error);
          setState(s);
        },
      },
    );
    return () => abort.abort();
  }, [api, id, log, onAuthError]);
  return <EventLogView log={log} state={state} onChange={rerender} />;
}

function DisconnectButton({ api, session, onAuthError }: { api: GatewayApi; session: Session; onAuthError: (err: unknown) => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string>();
  const confirm = async (): Promise<void> => {
    try {
      await api.disconnect(session.session_id);
      setOpen(false);
      location.hash = '#/';
    } catch (err) {
      onAuthError(err);
      setOpen(false);
      setError(err instanceof ApiError ? err.message : 'The gateway could not be reached.');
    }
  };
  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Disconnect…
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
      <ConfirmDialog
        open={open}
        title={`Disconnect "${session.name ?? session.session_id}"?`}
        confirmLabel="Disconnect"
        onConfirm={() => void confirm()}
        onCancel={() => setOpen(false)}
      >
        <p>
          The tunnel is closed and every call in flight fails. A running tunnel client reconnects by itself under a new session: stop the
          client to take the server offline.
        </p>
      </ConfirmDialog>
    </>
  );
}
