import type { Session } from './types.js';

/** Rows per page of the tunnels table: a page renders fast however many tunnels there are. */
export const PAGE_SIZE = 50;

/** Longest filter text considered. */
const MAX_FILTER_CHARS = 200;

/** A change the session-list stream announces (GET /reverse-proxy/sse). */
export type SessionListChange =
  { type: 'snapshot'; sessions: Session[] } | { type: 'added' | 'updated'; session: Session } | { type: 'removed'; sessionId: string };

/**
 * The tunnels the console knows, by id: replaced whole by a poll or a snapshot, changed one by one
 * by the stream's events. Immutable: every change returns a new table, so the view re-renders.
 */
export class SessionTable {
  private constructor(private readonly byId: ReadonlyMap<string, Session>) {}

  /** A table of `sessions` (a poll's answer or a snapshot). */
  static of(sessions: readonly Session[]): SessionTable {
    return new SessionTable(new Map(sessions.map((s) => [s.session_id, s])));
  }

  /** Number of sessions. */
  get size(): number {
    return this.byId.size;
  }

  /** One session by id. */
  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** The table after one change of the stream. */
  apply(change: SessionListChange): SessionTable {
    if (change.type === 'snapshot') return SessionTable.of(change.sessions);
    const next = new Map(this.byId);
    if (change.type === 'removed') next.delete(change.sessionId);
    else next.set(change.session.session_id, change.session);
    return new SessionTable(next);
  }

  /** Every session, sorted by name, then owner, then id (a stable order, so rows do not jump between polls). */
  sorted(): Session[] {
    return [...this.byId.values()].sort(compareSessions);
  }
}

function compareSessions(a: Session, b: Session): number {
  return (
    (a.name ?? '').localeCompare(b.name ?? '') || (a.user ?? '').localeCompare(b.user ?? '') || a.session_id.localeCompare(b.session_id)
  );
}

/** The sessions whose name or owner contains `query` (case-insensitive; an empty query keeps all). */
export function filterSessions(sessions: readonly Session[], query: string): Session[] {
  const needle = query.trim().slice(0, MAX_FILTER_CHARS).toLowerCase();
  if (needle === '') return [...sessions];
  return sessions.filter((s) => (s.name ?? '').toLowerCase().includes(needle) || (s.user ?? '').toLowerCase().includes(needle));
}

/** One page of rows. */
export interface Page<T> {
  rows: T[];
  /** 0-based page shown (clamped into range). */
  page: number;
  /** Number of pages (at least 1). */
  pages: number;
  /** Number of rows on all pages. */
  total: number;
  /** 1-based index of the first and last row shown (0 and 0 when empty). */
  from: number;
  to: number;
}

/** Page `page` (0-based, clamped) of `rows`, `size` rows a page. */
export function pageOf<T>(rows: readonly T[], page: number, size = PAGE_SIZE): Page<T> {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const clamped = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  const start = clamped * size;
  const shown = rows.slice(start, start + size);
  return {
    rows: shown,
    page: clamped,
    pages,
    total: rows.length,
    from: shown.length ? start + 1 : 0,
    to: start + shown.length,
  };
}

/** A stream event of GET /reverse-proxy/sse as a change, or undefined for keepalives and anything malformed. */
export function changeOf(event: string, data: string): SessionListChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (event === 'snapshot' && Array.isArray(v.sessions)) return { type: 'snapshot', sessions: v.sessions.filter(isSession) };
  if ((event === 'added' || event === 'updated') && isSession(v)) return { type: event, session: v };
  if (event === 'removed' && typeof v.session_id === 'string') return { type: 'removed', sessionId: v.session_id };
  return undefined;
}

/** Just enough of a session to show a row. */
export function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.session_id === 'string' && typeof v.state === 'string';
}
