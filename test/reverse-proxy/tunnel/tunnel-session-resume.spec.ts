import { jest } from '@jest/globals';
import { CallError } from '../../../src/reverse-proxy/tunnel/call-error.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { ACK_DELAY_MS, TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

/** A resumable session: numbering, suspension, resumption and the grace period (docs/protocol.md, "Resumption"). */

const limits = { graceMs: 30_000, maxRetainedBytes: 10_000, ackEvery: 3 };
let socket: FakeSocket;
let session: TunnelSession;
let events: SessionEvent[];

beforeEach(() => {
  jest.useFakeTimers();
  socket = new FakeSocket();
  session = new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 });
  session.register({ name: 'files', capabilities: {} });
  session.markReady();
  session.enableResume(limits);
  events = [];
  session.events$.subscribe((e) => events.push(e));
});

afterEach(() => {
  session.close('test over');
  jest.useRealTimers();
});

/** A call whose failure, if it comes, is the test's to look at (or to ignore). */
function call(id: number): Promise<unknown> {
  const answer = session.call({ jsonrpc: '2.0', id, method: 'tools/call' }, 60_000);
  answer.catch(() => undefined);
  return answer;
}
const requests = (s: FakeSocket) => s.sent.filter((f) => f.type === 'request');

test('data frames to the tunnel are numbered and carry the ack; control frames are not', () => {
  void call(1);
  session.arrive(1, 0);
  void call(2);
  session.send({ type: 'heartbeat', sessionId: 'sid-1', timestamp: 'now' });
  expect(requests(socket).map((f) => [f.seq, f.ack])).toEqual([
    [1, 0],
    [2, 1],
  ]);
  expect(socket.sent.at(-1)).toEqual({ type: 'heartbeat', sessionId: 'sid-1', timestamp: 'now' });
});

test('an owed acknowledgement goes out on its own after ACK_DELAY_MS, or at once after ackEvery frames', () => {
  expect(session.arrive(1, undefined)).toBe('deliver');
  expect(socket.sent).toEqual([]);
  jest.advanceTimersByTime(ACK_DELAY_MS);
  expect(socket.sent).toEqual([{ type: 'ack', ack: 1 }]);
  session.arrive(2, undefined);
  session.arrive(3, undefined);
  session.arrive(4, undefined);
  expect(socket.sent.at(-1)).toEqual({ type: 'ack', ack: 4 });
  // A data frame carries the ack itself: no separate one follows.
  session.arrive(5, undefined);
  void call(1);
  jest.advanceTimersByTime(ACK_DELAY_MS);
  expect(socket.sent.filter((f) => f.type === 'ack')).toHaveLength(2);
});

test('duplicates are dropped and a gap (or no seq at all) is reported', () => {
  expect(session.arrive(1, undefined)).toBe('deliver');
  expect(session.arrive(1, undefined)).toBe('duplicate');
  expect(session.arrive(3, undefined)).toBe('gap');
  expect(session.arrive(undefined, undefined)).toBe('gap');
});

test('a session that is not resumable delivers everything and is never suspended', () => {
  const plain = new TunnelSession('sid-2', 'alice', new FakeSocket(), { maxPending: 10 });
  expect(plain.arrive(undefined, undefined)).toBe('deliver');
  expect(plain.suspend()).toBe(false);
  plain.close('done');
});

test('suspended: callers keep waiting, new calls are kept, and a resume sends what the client missed', async () => {
  const first = call(1);
  session.acknowledge(0);
  expect(session.suspend()).toBe(true);
  expect(session.suspended).toBe(true);
  expect(events).toEqual([{ type: 'suspended' }]);
  const second = call(2); // kept for the resume
  session.send({ type: 'heartbeat', sessionId: 'sid-1', timestamp: 'x' }); // dropped while away
  const next = new FakeSocket();
  const missed = session.resumeOn(next, 1)!; // the client had received frame 1 already
  expect(missed.map((t) => JSON.parse(t) as { seq: number })).toEqual([expect.objectContaining({ seq: 2 })]);
  session.resend(missed);
  expect(requests(next).map((f) => f.payload.id)).toEqual(['gw-2']);
  expect(events.at(-1)).toEqual({ type: 'resumed' });
  expect(session.carriedBy(next)).toBe(true);
  session.receive({ jsonrpc: '2.0', id: 'gw-1', result: { one: true } });
  session.receive({ jsonrpc: '2.0', id: 'gw-2', result: { two: true } });
  await expect(first).resolves.toMatchObject({ id: 1, result: { one: true } });
  await expect(second).resolves.toMatchObject({ id: 2, result: { two: true } });
});

test('after the grace period the session ends as lost, and its callers hear why', async () => {
  const waiting = call(1);
  session.suspend();
  jest.advanceTimersByTime(limits.graceMs);
  await expect(waiting).rejects.toEqual(new CallError('closed', 'The tunnel closed (tunnel lost: no reconnect within 30 s)'));
  expect(session.isOpen).toBe(false);
  expect(session.resumeOn(new FakeSocket(), 0)).toBeUndefined();
});

test('a resume claiming more than was sent, or less than was acknowledged, changes nothing', () => {
  void call(1);
  void call(2);
  session.acknowledge(1);
  session.suspend();
  expect(session.resumeOn(new FakeSocket(), 5)).toBeUndefined();
  expect(session.resumeOn(new FakeSocket(), 0)).toBeUndefined();
  expect(session.suspended).toBe(true);
});

test('a resume on a new connection while the old one still looks open drops the old one', () => {
  const terminated = jest.fn();
  Object.assign(socket, { terminate: terminated });
  const next = new FakeSocket();
  expect(session.resumeOn(next, 0)).toEqual([]);
  expect(terminated).toHaveBeenCalled();
  expect(session.carriedBy(socket)).toBe(false);
});

test('while suspended, what waits for the client is bounded: past the resume buffer new calls are refused', () => {
  const small = new TunnelSession('sid-3', 'alice', new FakeSocket(), { maxPending: 100 });
  small.enableResume({ graceMs: 1000, maxRetainedBytes: 300, ackEvery: 3 });
  small.suspend();
  const big = { jsonrpc: '2.0' as const, method: 'tools/call', params: { text: 'x'.repeat(150) } };
  void small.call({ ...big, id: 1 }, 1000).catch(() => undefined);
  void small.call({ ...big, id: 2 }, 1000).catch(() => undefined);
  expect(() => small.call({ ...big, id: 3 }, 1000)).toThrow(new CallError('overloaded', 'The tunnel is reconnecting; try again shortly'));
  small.close('done');
});

test('handOver ends a session without closing the connection it lent', () => {
  const lent = new FakeSocket();
  const placeholder = new TunnelSession('sid-4', 'alice', lent, { maxPending: 1 });
  let completed = false;
  placeholder.events$.subscribe({ complete: () => (completed = true) });
  placeholder.handOver();
  expect([placeholder.isOpen, completed, lent.closeCalls]).toEqual([false, true, 0]);
});

test('a connection that ends: ignored when it no longer carries the session, suspends on a drop, closes otherwise', () => {
  const next = new FakeSocket();
  session.resumeOn(next, 0);
  expect(session.connectionEnded(socket, 'disconnected')).toBe('ignored');
  expect(session.connectionEnded(next, 'disconnected')).toBe('suspended');
  const other = new TunnelSession('sid-5', 'alice', new FakeSocket(), { maxPending: 1 });
  other.enableResume(limits);
  const otherSocket = new FakeSocket();
  other.resumeOn(otherSocket, 0);
  expect(other.connectionEnded(otherSocket, 'frame too large')).toBe('closed');
  expect(other.closeReason).toBe('frame too large');
});
