import { AccessRules } from '../../../src/auth/access-rules.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import type { RegistryChange } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

let seq = 0;
function session(owner: string | null): TunnelSession {
  return new TunnelSession(`s${++seq}`, owner, new FakeSocket(), { maxPending: 10 });
}

let registry: InMemorySessionRegistry;
let changes: { type: RegistryChange['type']; id: string }[];

beforeEach(() => {
  registry = new InMemorySessionRegistry();
  changes = [];
  registry.changes$.subscribe((c) => changes.push({ type: c.type, id: c.session.id }));
});

test('add, get, list and remove', () => {
  const a = session('alice');
  const b = session('bob');
  registry.add(a);
  registry.add(b);
  expect(registry.get(a.id)).toBe(a);
  expect(registry.get('nope')).toBeUndefined();
  expect(registry.list()).toEqual([a, b]);
  expect(registry.remove(a.id)).toBe(true);
  expect(registry.remove(a.id)).toBe(false);
  expect(registry.get(a.id)).toBeUndefined();
  expect(registry.list()).toEqual([b]);
  expect(changes).toEqual([
    { type: 'added', id: a.id },
    { type: 'added', id: b.id },
    { type: 'removed', id: a.id },
  ]);
});

test('counts sessions per owner, anonymous included', () => {
  const sessions = [session('alice'), session('alice'), session('bob'), session(null), session(null), session(null)];
  sessions.forEach((s) => registry.add(s));
  expect([
    registry.countByOwner('alice'),
    registry.countByOwner('bob'),
    registry.countByOwner(null),
    registry.countByOwner('carol'),
  ]).toEqual([2, 1, 3, 0]);
  registry.remove(sessions[0].id);
  registry.remove(sessions[2].id);
  registry.remove(sessions[2].id);
  expect([registry.countByOwner('alice'), registry.countByOwner('bob'), registry.countByOwner(null)]).toEqual([1, 0, 3]);
});

test('a session that closes removes itself and frees its name', () => {
  const a = session('alice');
  registry.add(a);
  expect(registry.claimNow(a, 'tools')).toEqual({ ok: true });
  a.register({ name: 'tools' });
  a.close('bye');
  expect(registry.get(a.id)).toBeUndefined();
  expect(registry.countByOwner('alice')).toBe(0);
  expect(registry.byName('tools')).toBeUndefined();
  expect(changes.at(-1)).toEqual({ type: 'removed', id: a.id });
});

test('a free name is claimed; the holder may claim it again', () => {
  const a = session('alice');
  registry.add(a);
  expect(registry.claimNow(a, 'git')).toEqual({ ok: true });
  expect(registry.claimNow(a, 'git')).toEqual({ ok: true });
  expect(registry.byName('git')).toBe(a);
  expect(registry.byName('other')).toBeUndefined();
});

test('a name held by another owner is refused', () => {
  const a = session('alice');
  const b = session('bob');
  registry.add(a);
  registry.add(b);
  registry.claimNow(a, 'git');
  expect(registry.claimNow(b, 'git')).toEqual({ ok: false, message: 'Server name "git" is already in use by another user' });
  expect(registry.byName('git')).toBe(a);
});

test("an anonymous session cannot take a user's name, nor a user an anonymous one", () => {
  const a = session('alice');
  const anon = session(null);
  registry.add(a);
  registry.add(anon);
  registry.claimNow(a, 'git');
  registry.claimNow(anon, 'open');
  expect(registry.claimNow(anon, 'git').ok).toBe(false);
  expect(registry.claimNow(a, 'open').ok).toBe(false);
});

test('the same owner takes a name over and gets the old session back; closing it keeps the new binding', () => {
  const old = session('alice');
  const fresh = session('alice');
  registry.add(old);
  registry.add(fresh);
  registry.claimNow(old, 'git');
  old.register({ name: 'git' });
  const claim = registry.claimNow(fresh, 'git');
  expect(claim).toEqual({ ok: true, replaced: old });
  fresh.register({ name: 'git' });
  expect(registry.byName('git')).toBe(fresh);
  old.close('replaced');
  expect(registry.get(old.id)).toBeUndefined();
  expect(registry.byName('git')).toBe(fresh);
  expect(registry.countByOwner('alice')).toBe(1);
});

test('markRegistered announces the session', () => {
  const a = session('alice');
  registry.add(a);
  registry.markRegistered(a);
  expect(changes).toEqual([
    { type: 'added', id: a.id },
    { type: 'registered', id: a.id },
  ]);
});

test('readyByName hands out only a ready tunnel', () => {
  const a = session('alice');
  registry.add(a);
  registry.claimNow(a, 'git');
  a.register({ name: 'git' });
  expect(registry.byName('git')).toBe(a);
  expect(registry.readyByName('git')).toBeUndefined();
  a.markReady();
  expect(registry.readyByName('git')).toBe(a);
  expect(registry.readyByName('other')).toBeUndefined();
});

test('claimName resolves with what claimNow decides', async () => {
  const a = session('alice');
  const b = session('bob');
  registry.add(a);
  registry.add(b);
  await expect(registry.claimName(a, 'db')).resolves.toEqual({ ok: true });
  await expect(registry.claimName(b, 'db')).resolves.toEqual({ ok: false, message: 'Server name "db" is already in use by another user' });
});

test('suspension, resume and new access rules announce the session as updated; counters do not', () => {
  const a = session('alice');
  registry.add(a);
  a.recordInbound(100);
  a.publish({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message' } });
  registry.markSuspended(a);
  a.publish({ type: 'resumed' });
  expect(registry.share(a, AccessRules.from({ users: ['bob'] }))).toBe(true);
  expect(a.access.toJSON()).toEqual({ users: ['bob'], groups: [], everyone: false });
  expect(changes).toEqual([
    { type: 'added', id: a.id },
    { type: 'updated', id: a.id },
    { type: 'updated', id: a.id },
    { type: 'updated', id: a.id },
  ]);
});

test('new rules for a session it does not hold are applied but not announced', () => {
  const stranger = session('alice');
  expect(registry.share(stranger, AccessRules.from({ everyone: true }))).toBe(true);
  expect(changes).toEqual([]);
});
