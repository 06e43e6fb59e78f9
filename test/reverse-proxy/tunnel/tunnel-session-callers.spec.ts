import type { TunnelCaller } from '../../../src/reverse-proxy/tunnel/call-context.js';
import { CallError } from '../../../src/reverse-proxy/tunnel/pending-calls.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

/** The per-caller side of the one correlation table: progress tokens, cancellation, server-request routing. */

let socket: FakeSocket;
let session: TunnelSession;
let events: SessionEvent[];

function caller(key: string): TunnelCaller & { progress: { params: unknown; requestId: unknown }[] } {
  const progress: { params: unknown; requestId: unknown }[] = [];
  return { key, progress, onProgress: (n, requestId) => progress.push({ params: n.params, requestId }) };
}

const sentPayloads = () => socket.sent.filter((f) => f.type === 'request').map((f) => f.payload);

beforeEach(() => {
  socket = new FakeSocket();
  session = new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 });
  events = [];
  session.events$.subscribe((e) => events.push(e));
});
afterEach(() => session.close('test over'));

test("a caller's progress token goes down as the call's tunnel id and comes back restored, to that caller only", async () => {
  const a = caller('a');
  const b = caller('b');
  const callA = session.call(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 'tok' } } },
    1000,
    a,
  );
  const callB = session.call(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 'tok' } } },
    1000,
    b,
  );
  const [downA, downB] = sentPayloads();
  expect(downA).toMatchObject({ id: 'gw-1', params: { name: 'x', _meta: { progressToken: 'gw-1' } } });
  expect(downB).toMatchObject({ id: 'gw-2', params: { _meta: { progressToken: 'gw-2' } } });

  session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'gw-2', progress: 1 } });
  expect(b.progress).toEqual([{ params: { progressToken: 'tok', progress: 1 }, requestId: 1 }]);
  expect(a.progress).toEqual([]);
  // Routed progress is not published to the tunnel's event subscribers.
  expect(events.filter((e) => e.type === 'notification')).toEqual([]);

  session.receive({ jsonrpc: '2.0', id: 'gw-1', result: { a: true } });
  session.receive({ jsonrpc: '2.0', id: 'gw-2', result: { b: true } });
  expect(await callA).toEqual({ jsonrpc: '2.0', id: 1, result: { a: true } });
  expect(await callB).toEqual({ jsonrpc: '2.0', id: 1, result: { b: true } });
});

test('without a caller (the REST door) the request and its progress are left as they were', async () => {
  const call = session.call({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { _meta: { progressToken: 'rest' } } }, 1000);
  expect(sentPayloads()[0]).toEqual({ jsonrpc: '2.0', id: 'gw-1', method: 'tools/call', params: { _meta: { progressToken: 'rest' } } });
  session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'rest', progress: 1 } });
  expect(events).toContainEqual({ type: 'notification', payload: expect.objectContaining({ method: 'notifications/progress' }) });
  session.receive({ jsonrpc: '2.0', id: 'gw-1', result: {} });
  await call;
});

test('cancelling a call rejects its caller and tells the server, under the id the server knows', async () => {
  const a = caller('a');
  const call = session.call({ jsonrpc: '2.0', id: 'mine', method: 'tools/call' }, 1000, a);
  expect(session.findCall('a', 'mine')).toBe('gw-1');
  expect(session.findCall('b', 'mine')).toBeUndefined();
  expect(session.cancel('gw-1', 'user gave up')).toBe(true);
  await expect(call).rejects.toEqual(new CallError('cancelled', 'user gave up'));
  expect(sentPayloads().at(-1)).toEqual({
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: 'gw-1', reason: 'user gave up' },
  });
  expect(session.cancel('gw-1', 'again')).toBe(false);
  expect(session.pendingCount).toBe(0);
});

test("cancelCallsOf cancels one caller's calls and leaves the others", async () => {
  const a = caller('a');
  const b = caller('b');
  const a1 = session.call({ jsonrpc: '2.0', id: 1, method: 'm' }, 1000, a).catch((e: unknown) => e);
  const a2 = session.call({ jsonrpc: '2.0', id: 2, method: 'm' }, 1000, a).catch((e: unknown) => e);
  const b1 = session.call({ jsonrpc: '2.0', id: 1, method: 'm' }, 1000, b);
  expect(session.cancelCallsOf('a', 'session ended')).toBe(2);
  expect(await a1).toBeInstanceOf(CallError);
  expect(await a2).toBeInstanceOf(CallError);
  expect(session.inFlight().map((c) => c.tunnelId)).toEqual(['gw-3']);
  const cancelled = sentPayloads()
    .filter((p) => p.method === 'notifications/cancelled')
    .map((p) => p.params.requestId);
  expect(cancelled.sort()).toEqual(['gw-1', 'gw-2']);
  session.receive({ jsonrpc: '2.0', id: 'gw-3', result: {} });
  await b1;
});

test('server-to-client requests are published as events by default, or given to an installed router', () => {
  session.addStreamSubscriber(); // an SSE stream follows the session
  session.receive({ jsonrpc: '2.0', id: 5, method: 'roots/list' });
  expect(events).toContainEqual({ type: 'request', payload: { jsonrpc: '2.0', id: 5, method: 'roots/list' } });
  const routed: unknown[] = [];
  session.routeServerRequestsWith({ route: (request, tunnel) => routed.push([request.id, tunnel.id]) });
  session.receive({ jsonrpc: '2.0', id: 6, method: 'sampling/createMessage' });
  expect(routed).toEqual([[6, 'sid-1']]);
  expect(events.filter((e) => e.type === 'request')).toHaveLength(1);
  session.routeServerRequestsWith(undefined);
  session.receive({ jsonrpc: '2.0', id: 7, method: 'ping' });
  expect(events.filter((e) => e.type === 'request')).toHaveLength(2);
});

test('inFlight lists calls most recent first, with who made them', () => {
  const a = caller('a');
  void session.call({ jsonrpc: '2.0', id: 'x', method: 'm' }, 1000).catch(() => undefined);
  void session.call({ jsonrpc: '2.0', id: 'y', method: 'm' }, 1000, a).catch(() => undefined);
  expect(session.inFlight().map((c) => [c.tunnelId, c.callerRequestId, c.context.caller?.key])).toEqual([
    ['gw-2', 'y', 'a'],
    ['gw-1', 'x', undefined],
  ]);
  expect(session.inFlightCall('gw-2')?.callerRequestId).toBe('y');
});
