import { changeOf, filterSessions, pageOf, SessionTable } from '../../../console/src/lib/session-table.js';
import type { Session } from '../../../console/src/lib/types.js';

const session = (id: string, name?: string, user: string | null = 'alice@example.com'): Session => ({
  session_id: id,
  name,
  user,
  state: 'ready',
  server_info: {},
  connected_at: '2026-01-01T00:00:00.000Z',
  last_activity: '2026-01-01T00:00:00.000Z',
  message_count: 0,
  bytes_in: 0,
  bytes_out: 0,
  bytes_transferred: 0,
  pending_requests: 0,
  role: 'owner',
});

test('a snapshot replaces the table; added, updated and removed change one row; the old table is left as it was', () => {
  const first = SessionTable.of([session('a', 'alpha')]);
  const added = first.apply({ type: 'added', session: session('b', 'beta') });
  const updated = added.apply({ type: 'updated', session: { ...session('a', 'alpha'), state: 'closed' } });
  const removed = updated.apply({ type: 'removed', sessionId: 'b' });
  expect(first.size).toBe(1);
  expect(added.sorted().map((s) => s.session_id)).toEqual(['a', 'b']);
  expect(updated.get('a')?.state).toBe('closed');
  expect(removed.sorted().map((s) => s.session_id)).toEqual(['a']);
  expect(
    removed
      .apply({ type: 'snapshot', sessions: [session('z')] })
      .sorted()
      .map((s) => s.session_id),
  ).toEqual(['z']);
});

test('rows sort by name, then owner, then id; an unnamed session first', () => {
  const table = SessionTable.of([session('3', 'b', 'x'), session('2', 'b', 'a'), session('1', 'a'), session('0')]);
  expect(table.sorted().map((s) => s.session_id)).toEqual(['0', '1', '2', '3']);
});

test('the filter matches name or owner, case-insensitive; anonymous and unnamed sessions are fine', () => {
  const rows = [session('1', 'Git-Tools', 'alice@example.com'), session('2', 'notes', 'BOB@example.com'), session('3', undefined, null)];
  expect(filterSessions(rows, ' git ').map((s) => s.session_id)).toEqual(['1']);
  expect(filterSessions(rows, 'bob@').map((s) => s.session_id)).toEqual(['2']);
  expect(filterSessions(rows, '').map((s) => s.session_id)).toEqual(['1', '2', '3']);
  expect(filterSessions(rows, 'nothing')).toEqual([]);
});

test('pages: 50 a page by default, the page clamped into range, the shown range counted from 1', () => {
  const rows = Array.from({ length: 120 }, (_, i) => i);
  expect(pageOf(rows, 0)).toMatchObject({ page: 0, pages: 3, total: 120, from: 1, to: 50 });
  expect(pageOf(rows, 2).rows).toEqual(rows.slice(100));
  expect(pageOf(rows, 9)).toMatchObject({ page: 2, from: 101, to: 120 });
  expect(pageOf(rows, -3).page).toBe(0);
  expect(pageOf([], 4)).toEqual({ rows: [], page: 0, pages: 1, total: 0, from: 0, to: 0 });
});

test('stream events become changes; malformed or unknown ones are ignored', () => {
  expect(changeOf('snapshot', JSON.stringify({ sessions: [session('a'), { bogus: true }] }))).toEqual({
    type: 'snapshot',
    sessions: [session('a')],
  });
  expect(changeOf('added', JSON.stringify(session('b')))).toEqual({ type: 'added', session: session('b') });
  expect(changeOf('removed', '{"session_id":"b"}')).toEqual({ type: 'removed', sessionId: 'b' });
  expect(changeOf('keepalive', '{"timestamp":"x"}')).toBeUndefined();
  expect(changeOf('added', '{"session_id":1}')).toBeUndefined();
  expect(changeOf('removed', 'not json')).toBeUndefined();
  expect(changeOf('snapshot', 'null')).toBeUndefined();
});
