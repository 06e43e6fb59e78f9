import { jest } from '@jest/globals';
import type { MessageEvent } from '@nestjs/common';
import { Subject } from 'rxjs';
import { AccessRules } from '../../../src/auth/access-rules.js';
import type { Principal } from '../../../src/auth/principal.js';
import { sessionListStream } from '../../../src/reverse-proxy/admin/session-list-stream.js';
import type { SseStreamOptions } from '../../../src/reverse-proxy/admin/sse-backlog.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import type { RegistryChange } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

const alice: Principal = { user: 'alice', isAdmin: false, via: 'jwt' };
const bob: Principal = { user: 'bob', isAdmin: false, via: 'jwt', groups: ['eng'] };
const root: Principal = { user: 'root', isAdmin: true, via: 'jwt' };

let registry: InMemorySessionRegistry;
let seq = 0;
let backedUp: boolean;
const options: SseStreamOptions = { keepaliveMs: 60_000, maxBacklog: 2, isBackedUp: () => backedUp };

beforeEach(() => {
  registry = new InMemorySessionRegistry();
  backedUp = false;
});

const following: { unsubscribe(): void }[] = [];

afterEach(() => {
  for (const subscription of following.splice(0)) subscription.unsubscribe();
  for (const session of registry.local()) session.close('test over');
  jest.useRealTimers();
});

function connect(owner: string | null, name?: string): TunnelSession {
  const session = new TunnelSession(`s${++seq}`, owner, new FakeSocket(), { maxPending: 3 });
  registry.add(session);
  if (name) {
    registry.claimNow(session, name);
    session.register({ name, version: '1.0.0', capabilities: { tools: {} } });
    session.markReady();
    registry.markRegistered(session);
  }
  return session;
}

function follow(principal: Principal): { received: MessageEvent[]; completed: () => boolean; stop: () => void } {
  const received: MessageEvent[] = [];
  let done = false;
  const subscription = sessionListStream(registry, principal, options).subscribe({
    next: (m) => received.push(m),
    complete: () => (done = true),
  });
  following.push(subscription);
  return { received, completed: () => done, stop: () => subscription.unsubscribe() };
}

const types = (received: MessageEvent[]) => received.map((m) => m.type);
const idOf = (m: MessageEvent) => (m.data as { session_id: string }).session_id;

test('starts with a snapshot of what the caller may see, with its role: users their own and anonymous ones, admins all', () => {
  const mine = connect('alice', 'alice-tools');
  const theirs = connect('bob', 'bob-tools');
  const open = connect(null, 'open-tools');
  const a = follow(alice);
  expect(types(a.received)).toEqual(['snapshot']);
  const shown = (a.received[0].data as { sessions: { session_id: string; role: string; name: string; messages_in: number }[] }).sessions;
  expect(shown.map((s) => [s.session_id, s.role])).toEqual([
    [mine.id, 'owner'],
    [open.id, 'owner'],
  ]);
  expect(shown[0]).toMatchObject({ name: 'alice-tools', state: 'ready', messages_in: 0 });
  const all = (follow(root).received[0].data as { sessions: { session_id: string; role: string }[] }).sessions;
  expect(all.map((s) => [s.session_id, s.role])).toEqual([
    [mine.id, 'admin'],
    [theirs.id, 'admin'],
    [open.id, 'admin'],
  ]);
});

test("added, updated and removed follow the caller's own sessions; another user's never show", () => {
  const a = follow(alice);
  const b = follow(bob);
  const mine = connect('alice');
  connect('bob', 'bob-only');
  registry.claimNow(mine, 'alice-tools');
  mine.register({ name: 'alice-tools', capabilities: {} });
  mine.markReady();
  registry.markRegistered(mine);
  mine.close('bye');
  expect(types(a.received)).toEqual(['snapshot', 'added', 'updated', 'removed']);
  expect(a.received.slice(1).map(idOf)).toEqual([mine.id, mine.id, mine.id]);
  expect(a.received[1].data).toMatchObject({ state: 'connected', role: 'owner' });
  expect(a.received[2].data).toMatchObject({ state: 'ready', name: 'alice-tools' });
  expect(a.received[3].data).toEqual({ session_id: mine.id });
  expect(JSON.stringify(b.received)).not.toContain(mine.id);
  expect(types(b.received)).toEqual(['snapshot', 'added', 'updated']);
});

test('suspension and resume are updates', () => {
  const mine = connect('alice', 'resumable');
  const a = follow(alice);
  registry.markSuspended(mine);
  mine.publish({ type: 'resumed' });
  expect(types(a.received)).toEqual(['snapshot', 'updated', 'updated']);
});

test('a session shared with the caller is added with role user; unshared, it is removed', () => {
  const theirs = connect('alice', 'shared-tools');
  const b = follow(bob);
  registry.share(theirs, AccessRules.from({ groups: ['eng'] }));
  registry.share(theirs, AccessRules.from({ users: ['bob'] }));
  registry.share(theirs, AccessRules.ONLY_OWNER);
  registry.share(theirs, AccessRules.ONLY_OWNER);
  expect(types(b.received)).toEqual(['snapshot', 'added', 'updated', 'removed']);
  expect(b.received[1].data).toMatchObject({ session_id: theirs.id, role: 'user' });
  // A user the server is shared with does not see its rules.
  expect(b.received[1].data).not.toHaveProperty('access');
  expect(b.received[3].data).toEqual({ session_id: theirs.id });
});

test('counters are not pushed', () => {
  const mine = connect('alice', 'busy');
  const a = follow(alice);
  mine.recordInbound(500);
  mine.publish({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message' } });
  void mine.call({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 1000).catch(() => undefined);
  expect(types(a.received)).toEqual(['snapshot']);
});

test('keepalive comes at the interval', () => {
  jest.useFakeTimers();
  const a = follow(alice);
  jest.advanceTimersByTime(60_000);
  expect(types(a.received)).toEqual(['snapshot', 'keepalive']);
  a.stop();
  jest.advanceTimersByTime(60_000);
  expect(types(a.received)).toEqual(['snapshot', 'keepalive']);
});

test('a client that stays backed up gets dropped and the stream ends; it stops following the registry', () => {
  const a = follow(alice);
  backedUp = true;
  for (let i = 0; i < 5; i++) connect('alice');
  expect(types(a.received)).toEqual(['snapshot', 'added', 'added', 'dropped']);
  expect(a.received.at(-1)!.data).toEqual({ reason: 'The client did not keep up with the events' });
  expect(a.completed()).toBe(true);
  const observers = (registry as unknown as { changes: Subject<RegistryChange> }).changes.observers.length;
  expect(observers).toBe(0);
});

test('a client that catches up is not dropped', () => {
  const a = follow(alice);
  for (let i = 0; i < 6; i++) {
    backedUp = i % 2 === 0;
    connect('alice');
  }
  expect(types(a.received)).toEqual(['snapshot', 'added', 'added', 'added', 'added', 'added', 'added']);
});

test('a change that fails to render is skipped (never counted as shown); the stream carries on', () => {
  const changes = new Subject<RegistryChange>();
  const broken = { id: 'broken', owner: 'alice', isOpen: true, info: () => ({}) } as never;
  const received: MessageEvent[] = [];
  const fake = { list: () => [], changes$: changes } as unknown as InMemorySessionRegistry;
  following.push(sessionListStream(fake, alice, options).subscribe((m) => received.push(m)));
  changes.next({ type: 'added', session: broken });
  changes.next({ type: 'updated', session: broken });
  const fine = new TunnelSession('fine', 'alice', new FakeSocket(), { maxPending: 1 });
  changes.next({ type: 'added', session: fine });
  expect(types(received)).toEqual(['snapshot', 'added']);
  expect(idOf(received[1])).toBe('fine');
  fine.close('test over');
});
