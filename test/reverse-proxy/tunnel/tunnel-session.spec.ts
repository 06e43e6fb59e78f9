import { jest } from '@jest/globals';
import { CallError } from '../../../src/reverse-proxy/tunnel/pending-calls.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

let socket: FakeSocket;
let session: TunnelSession;
let events: SessionEvent[];
let completed: boolean;

beforeEach(() => {
  socket = new FakeSocket();
  session = new TunnelSession('sid-1', 'alice', socket, { maxPending: 3 });
  events = [];
  completed = false;
  session.events$.subscribe({ next: (e) => events.push(e), complete: () => (completed = true) });
});

afterEach(() => {
  session.close('test over');
  jest.useRealTimers();
});

test('starts connected, open, with zero counters', () => {
  expect([session.id, session.owner, session.state, session.isOpen, session.name, session.pendingCount]).toEqual([
    'sid-1',
    'alice',
    'connected',
    true,
    undefined,
    0,
  ]);
  expect([session.messagesIn, session.messagesOut, session.bytesIn, session.bytesOut]).toEqual([0, 0, 0, 0]);
});

test('send serializes the frame and counts it', () => {
  const frame = { type: 'register_ack', sessionId: 'sid-1', status: 'success' } as const;
  session.send(frame);
  expect(socket.sent).toEqual([frame]);
  expect(session.messagesOut).toBe(1);
  expect(session.bytesOut).toBe(Buffer.byteLength(JSON.stringify(frame)));
});

test('bytes are counted in bytes, not characters', () => {
  session.send({ type: 'error', message: 'héllo €' });
  expect(session.bytesOut).toBe(Buffer.byteLength(JSON.stringify({ type: 'error', message: 'héllo €' })));
  expect(session.bytesOut).toBeGreaterThan(JSON.stringify({ type: 'error', message: 'héllo €' }).length);
});

test('recordInbound counts frames and bytes', () => {
  session.recordInbound(10);
  session.recordInbound(5);
  expect([session.messagesIn, session.bytesIn]).toEqual([2, 15]);
});

test('forward wraps a message in a request envelope', () => {
  session.forward({ jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(socket.sent).toEqual([{ type: 'request', sessionId: 'sid-1', payload: { jsonrpc: '2.0', method: 'notifications/initialized' } }]);
});

test('call rewrites the id on the way down and restores it on the way back', async () => {
  const answer = session.call({ jsonrpc: '2.0', id: 42, method: 'tools/list' }, 1000);
  expect(socket.sent).toHaveLength(1);
  const sent = socket.sent[0];
  expect(sent.type).toBe('request');
  expect(sent.sessionId).toBe('sid-1');
  expect(sent.payload.method).toBe('tools/list');
  expect(sent.payload.id).not.toBe(42);
  expect(session.pendingCount).toBe(1);
  expect(session.receive({ jsonrpc: '2.0', id: sent.payload.id, result: { tools: [] } })).toBe('routed');
  await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 42, result: { tools: [] } });
  expect(session.pendingCount).toBe(0);
  // Subscribers see the answer with the caller's id.
  expect(events).toEqual([{ type: 'response', payload: { jsonrpc: '2.0', id: 42, result: { tools: [] } } }]);
});

test('while an SSE stream follows the session, each call is published as the caller sent it, before its answer', async () => {
  const request = { jsonrpc: '2.0' as const, id: 'mine', method: 'tools/call', params: { name: 'echo', arguments: {} } };
  const unfollow = session.addStreamSubscriber();
  const answer = session.call(request, 1000);
  session.receive({ jsonrpc: '2.0', id: socket.sent[0].payload.id, result: {} });
  await answer;
  expect(events.map((e) => e.type)).toEqual(['call', 'response']);
  expect(events[0]).toEqual({ type: 'call', payload: request });
  unfollow();
  events.length = 0;
  const unfollowed = session.call({ ...request, id: 'later' }, 1000);
  session.receive({ jsonrpc: '2.0', id: socket.sent[1].payload.id, result: {} });
  await unfollowed;
  // Nobody follows: nothing is published for the call (its answer still is, for the doors).
  expect(events.map((e) => e.type)).toEqual(['response']);
});

test('calls with the same id each get their own answer', async () => {
  const first = session.call({ jsonrpc: '2.0', id: 1, method: 'a' }, 1000);
  const second = session.call({ jsonrpc: '2.0', id: 1, method: 'b' }, 1000);
  const [a, b] = socket.sent.map((f) => f.payload);
  expect(a.id).not.toBe(b.id);
  session.receive({ jsonrpc: '2.0', id: b.id, result: 'B' });
  session.receive({ jsonrpc: '2.0', id: a.id, result: 'A' });
  await expect(first).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: 'A' });
  await expect(second).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: 'B' });
});

test('an answer nobody waits for is unmatched and not published', () => {
  expect(session.receive({ jsonrpc: '2.0', id: 'initialize-1', result: {} })).toBe('unmatched');
  expect(session.receive({ jsonrpc: '2.0', id: 99, result: {} })).toBe('unmatched');
  expect(events).toEqual([]);
});

test('a server-to-client request nobody follows the session for is refused at once', () => {
  const req = { jsonrpc: '2.0' as const, id: 'srv-9', method: 'elicitation/create', params: {} };
  expect(session.receive(req)).toBe('routed');
  expect(events).toEqual([]);
  expect(socket.sent).toEqual([
    {
      type: 'request',
      sessionId: session.id,
      payload: {
        jsonrpc: '2.0',
        id: 'srv-9',
        error: { code: -32601, message: 'No client connected through the gateway can handle elicitation/create right now' },
      },
    },
  ]);
});

test('notifications and server-to-client requests become events', () => {
  session.addStreamSubscriber(); // an SSE stream follows the session
  const note = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
  const req = { jsonrpc: '2.0' as const, id: 'srv-1', method: 'sampling/createMessage', params: {} };
  expect(session.receive(note)).toBe('routed');
  expect(session.receive(req)).toBe('routed');
  expect(events).toEqual([
    { type: 'notification', payload: note },
    { type: 'request', payload: req },
  ]);
});

test('a payload that is not JSON-RPC is invalid', () => {
  expect(session.receive({ hello: 'world' })).toBe('invalid');
  expect(session.receive({ jsonrpc: '2.0', id: {}, method: 'x' })).toBe('invalid');
  expect(events).toEqual([]);
});

test('a timed-out call tells the server to cancel with the rewritten id, then rejects', async () => {
  jest.useFakeTimers();
  const answer = session.call({ jsonrpc: '2.0', id: 'mine', method: 'slow' }, 500);
  const tunnelId = socket.sent[0].payload.id;
  const outcome = answer.catch((err: CallError) => err);
  jest.advanceTimersByTime(500);
  const err = await outcome;
  expect(err).toBeInstanceOf(CallError);
  expect((err as CallError).reason).toBe('timeout');
  expect(socket.sent[1]).toEqual({
    type: 'request',
    sessionId: 'sid-1',
    payload: {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: tunnelId, reason: 'Request timed out at the gateway' },
    },
  });
  expect(session.pendingCount).toBe(0);
  // The late answer is dropped.
  expect(session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} })).toBe('unmatched');
});

test('too many calls in flight are refused as busy, without sending anything', async () => {
  const open = [1, 2, 3].map((id) => session.call({ jsonrpc: '2.0', id, method: 'x' }, 1000));
  for (const p of open) p.catch(() => undefined);
  // Busy is thrown at once, so a caller that does not wait (?wait=false) can still answer 503.
  let thrown: unknown;
  try {
    void session.call({ jsonrpc: '2.0', id: 4, method: 'x' }, 1000);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CallError);
  expect(thrown).toMatchObject({ reason: 'busy', message: 'Too many requests in flight on this session (limit 3)' });
  expect(socket.sent).toHaveLength(3);
});

test('a call whose request cannot be sent fails and leaves nothing pending', async () => {
  socket.send = () => {
    throw new Error('socket gone');
  };
  await expect(session.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 1000)).rejects.toThrow('socket gone');
  expect(session.pendingCount).toBe(0);
});

test('close fails calls in flight, emits closed, completes events and closes the socket once', async () => {
  const pending = session.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 10_000);
  session.close('disconnected by API', 1000);
  await expect(pending).rejects.toMatchObject({ reason: 'closed', message: 'The tunnel closed (disconnected by API)' });
  expect(session.state).toBe('closed');
  expect(session.isOpen).toBe(false);
  expect(session.closeReason).toBe('disconnected by API');
  expect(events).toEqual([{ type: 'closed', reason: 'disconnected by API' }]);
  expect(completed).toBe(true);
  expect(socket.closedWith).toEqual({ code: 1000, reason: 'disconnected by API' });
  session.close('again');
  expect(socket.closeCalls).toBe(1);
  expect(session.closeReason).toBe('disconnected by API');
});

test('after close, send throws, call rejects and forward refuses', async () => {
  session.close('gone');
  expect(() => session.send({ type: 'error', message: 'x' })).toThrow(CallError);
  expect(() => session.forward({ jsonrpc: '2.0', method: 'x' })).toThrow(CallError);
  await expect(session.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 1000)).rejects.toMatchObject({ reason: 'closed' });
  expect(socket.sent).toEqual([]);
});

test('close survives a socket that throws', () => {
  socket.close = () => {
    throw new Error('already closed');
  };
  expect(() => session.close('x')).not.toThrow();
  expect(session.isOpen).toBe(false);
});

test('a long close reason is cut to fit a WebSocket close frame', () => {
  session.close('r'.repeat(500), 1008);
  expect(socket.closedWith?.code).toBe(1008);
  expect(Buffer.byteLength(socket.closedWith?.reason ?? '')).toBeLessThanOrEqual(123);
});

test('registers once, takes the handshake answer while registered, then becomes ready', () => {
  expect(session.isReady()).toBe(false);
  expect(session.register({ name: 'tools', version: '1' })).toBe(true);
  expect([session.state, session.name]).toEqual(['registered', 'tools']);
  expect(session.register({ name: 'other' })).toBe(false);
  session.updateServer({
    protocolVersion: 'v'.repeat(40),
    capabilities: { tools: {} },
    serverInfo: { name: 'local', version: '2' },
    instructions: 'use me',
    ignored: true,
  });
  expect(session.server).toEqual({
    name: 'tools',
    version: '1',
    protocolVersion: 'v'.repeat(32),
    capabilities: { tools: {} },
    serverInfo: { name: 'local', version: '2' },
    instructions: 'use me',
  });
  expect(session.markReady()).toBe(true);
  expect([session.state, session.isReady()]).toEqual(['ready', true]);
  expect(session.markReady()).toBe(false);
  session.updateServer({ capabilities: { prompts: {} } });
  expect(session.server?.capabilities).toEqual({ tools: {} });
  expect(session.info()).toMatchObject({ id: 'sid-1', name: 'tools', owner: 'alice', state: 'ready', pendingCount: 0 });
  session.close('bye');
  expect([session.state, session.isReady()]).toEqual(['closed', false]);
});

test('a stream subscriber removes itself once', () => {
  const unfollow = session.addStreamSubscriber();
  const other = session.addStreamSubscriber();
  unfollow();
  unfollow();
  expect(session.hasStreamSubscribers).toBe(true);
  other();
  expect(session.hasStreamSubscribers).toBe(false);
});

test('heartbeats are answered at most once a second', () => {
  expect(session.shouldReplyToHeartbeat(10_000)).toBe(true);
  expect(session.shouldReplyToHeartbeat(10_999)).toBe(false);
  expect(session.shouldReplyToHeartbeat(11_000)).toBe(true);
});

test('tryForward sends, and ignores a closed tunnel', () => {
  const note = { jsonrpc: '2.0' as const, method: 'notifications/initialized' };
  expect(session.tryForward(note)).toBe(true);
  expect(socket.sent).toEqual([{ type: 'request', sessionId: 'sid-1', payload: note }]);
  session.close('gone');
  expect(session.tryForward(note)).toBe(false);
  expect(() => session.forward(note)).toThrow(CallError);
});

test('callStats counts the calls of the session by their end, on its clock', async () => {
  let clock = 1_767_225_600_000;
  const timed = new TunnelSession('sid-stats', 'alice', new FakeSocket(), { maxPending: 1 }, () => clock);
  const ok = timed.call({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 1000);
  // The one slot is taken: a second call is refused as busy.
  expect(() => timed.call({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, 1000)).toThrow(CallError);
  clock += 25;
  timed.receive({ jsonrpc: '2.0', id: 'gw-1', result: {} });
  await ok;
  const failing = timed.call({ jsonrpc: '2.0', id: 3, method: 'tools/call' }, 1000);
  timed.receive({ jsonrpc: '2.0', id: 'gw-2', error: { code: -32602, message: 'bad arguments' } });
  await failing;
  const cut = timed.call({ jsonrpc: '2.0', id: 4, method: 'slow' }, 1000);
  timed.close('bye');
  await expect(cut).rejects.toThrow(CallError);
  const stats = timed.callStats();
  expect([stats.callsTotal, stats.errorsTotal]).toEqual([4, 3]);
  expect(stats.points.at(-1)).toMatchObject({ t: 1_767_225_600_000, calls: 4, errors: 3, p99Ms: 25 });
  // Two of the three timed calls took no time: the median is in the first bin (up to 0.25 ms).
  expect(stats.points.at(-1)!.p50Ms).toBeLessThanOrEqual(0.25);
});
