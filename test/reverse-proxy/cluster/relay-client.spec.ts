import { jest } from '@jest/globals';
import type { JsonRpcRequest, JsonRpcResponse } from '../../../src/protocol/json-rpc.js';
import { RelayedCaller } from '../../../src/reverse-proxy/cluster/relayed-caller.js';
import type { TunnelCaller } from '../../../src/reverse-proxy/tunnel/call-context.js';
import { CallError, CLUSTER_UNREACHABLE } from '../../../src/reverse-proxy/tunnel/call-error.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import type { RelayedAsk } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeClusterNetwork, RelayReplica } from '../../support/fake-cluster-bus.js';
import { FakeSocket } from '../../support/fake-socket.js';

/**
 * The calling side of the relay: a RelayClient on replica B reaches a real TunnelSession held by
 * replica A (through A's RelayServer) over an in-process bus.
 */

const MARGIN = 50;

let network: FakeClusterNetwork;
let a: RelayReplica;
let b: RelayReplica;
let socket: FakeSocket;
let session: TunnelSession;

/** What went down the tunnel (JSON-RPC payloads). */
const down = () => socket.sent.filter((f) => f.type === 'request').map((f) => f.payload);

function caller(key: string, answers: string[] = []): TunnelCaller & { progress: { params: unknown; requestId: unknown }[] } {
  const progress: { params: unknown; requestId: unknown }[] = [];
  return {
    key,
    progress,
    onProgress: (n, requestId) => progress.push({ params: n.params, requestId }),
    canAnswer: (method) => answers.includes(method),
  };
}

const request = (id: string | number, method = 'tools/call', params?: JsonRpcRequest['params']): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params ? { params } : {}),
});

/** `promise`, marked as handled: a test that fails early leaves no unhandled rejection behind when afterEach fails the calls. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** A relayed call from B, once it reached the tunnel on A. */
async function relayed(
  req: JsonRpcRequest,
  who?: TunnelCaller,
  timeoutMs = 1000,
): Promise<{ answer: Promise<JsonRpcResponse>; tunnelId: string }> {
  const answer = handled(b.client.call('A', 'sid-1', req, timeoutMs, who));
  await network.flush();
  const tunnelId = down().at(-1)?.id as string;
  return { answer, tunnelId };
}

/** Collects what a stream emits and whether it completed. */
function collect(stream: import('rxjs').Observable<SessionEvent>) {
  const seen: SessionEvent[] = [];
  const state = { seen, completed: false, subscription: undefined as unknown as import('rxjs').Subscription };
  state.subscription = stream.subscribe({ next: (e) => seen.push(e), complete: () => (state.completed = true) });
  return state;
}

beforeEach(() => {
  network = new FakeClusterNetwork();
  a = new RelayReplica(network, 'A');
  b = new RelayReplica(network, 'B', { maxCalls: 5, deadlineMarginMs: MARGIN });
  socket = new FakeSocket();
  session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 }));
});

afterEach(async () => {
  session.close('test over');
  b.client.failAll(new CallError('shutdown', 'test over'));
  await network.flush();
  jest.useRealTimers();
});

describe('calls', () => {
  test("a relayed call is answered with the caller's own id restored", async () => {
    const { answer, tunnelId } = await relayed(request(42, 'tools/list'));
    expect(down()).toEqual([{ jsonrpc: '2.0', id: tunnelId, method: 'tools/list' }]);
    expect(tunnelId).toMatch(/^gw-/);
    expect([b.client.size, b.client.countFor('sid-1'), a.server.size]).toEqual([1, 1, 1]);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: { tools: [] } });
    await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 42, result: { tools: [] } });
    expect([b.client.size, b.client.countFor('sid-1'), a.server.size]).toEqual([0, 0, 0]);
  });

  test("the answer gets the caller's id back whatever id the owner's message carries", async () => {
    const { answer } = await relayed(request('mine'));
    a.bus.send('B', { t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 'gw-77', result: 'ok' } });
    await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 'mine', result: 'ok' });
  });

  test('an error answer is an answer, not a failure', async () => {
    const { answer, tunnelId } = await relayed(request('x'));
    session.receive({ jsonrpc: '2.0', id: tunnelId, error: { code: -32602, message: 'bad params' } });
    await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 'x', error: { code: -32602, message: 'bad params' } });
  });

  test('the call message names the session, the timeout and what the caller can answer', async () => {
    const { answer, tunnelId } = await relayed(request(1), caller('mcp-1', ['roots/list', 'sampling/createMessage', 'bogus']), 750);
    expect(network.sent('call', 'B', 'A')).toEqual([
      {
        t: 'call',
        session: 'sid-1',
        call: 1,
        request: request(1),
        timeoutMs: 750,
        caller: { key: 'mcp-1', progress: true, answers: ['sampling/createMessage', 'roots/list'] },
      },
    ]);
    // A caller without canAnswer can answer nothing; no caller sends no caller info.
    const plain = handled(b.client.call('A', 'sid-1', request(2), 1000, { key: 'k', onProgress: () => undefined }));
    const anonymous = handled(b.client.call('A', 'sid-1', request(3), 1000));
    const [, second, third] = network.sent('call', 'B', 'A');
    expect(second.caller).toEqual({ key: 'k', progress: true, answers: [] });
    expect(third).not.toHaveProperty('caller');
    await network.flush();
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    for (const p of down().slice(1)) session.receive({ jsonrpc: '2.0', id: p.id, result: {} });
    await Promise.all([answer, plain, anonymous]);
  });

  test.each([
    ['busy', 'Too many requests in flight on this session (limit 1)'],
    ['closed', 'The tunnel closed'],
    ['overloaded', 'The tunnel is not reading; try again later'],
  ] as const)("a call failing at the owner (%s) is re-thrown with the owner's reason and message", async (reason, message) => {
    if (reason === 'busy') {
      session.close('replaced');
      socket = new FakeSocket();
      session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 1 }));
      void session.call(request('local'), 1000).catch(() => undefined);
    } else if (reason === 'closed') {
      session.close('gone');
    } else {
      session.close('replaced');
      const backedUp = Object.assign(new FakeSocket(), { bufferedAmount: 10_000 });
      socket = backedUp;
      session = a.hold(
        new TunnelSession('sid-1', 'alice', backedUp, { maxPending: 10, backlog: { maxBufferedBytes: 100, stuckTimeoutMs: 60_000 } }),
      );
    }
    const answer = b.client.call('A', 'sid-1', request(1), 1000);
    await expect(answer).rejects.toEqual(new CallError(reason, message));
    await expect(answer).rejects.toBeInstanceOf(CallError);
    expect([b.client.size, a.server.size]).toEqual([0, 0]);
  });

  test('a call for a tunnel the owner does not hold fails as closed', async () => {
    await expect(b.client.call('A', 'no-such-session', request(1), 1000)).rejects.toEqual(new CallError('closed', 'The tunnel closed'));
  });

  test('a tunnel that closes while the call is in flight fails it as closed', async () => {
    const { answer } = await relayed(request(1));
    session.close('client left');
    await expect(answer).rejects.toEqual(new CallError('closed', 'The tunnel closed (client left)'));
  });

  test("a call timing out at the owner is re-thrown as timeout with the owner's message, and the server is told", async () => {
    jest.useFakeTimers();
    const { answer, tunnelId } = await relayed(request(1), undefined, 500);
    const outcome = answer.catch((err: unknown) => err);
    jest.advanceTimersByTime(500);
    await network.flush();
    expect(await outcome).toEqual(new CallError('timeout', 'No answer from the tunnel within 500 ms'));
    expect(down().at(-1)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: tunnelId, reason: 'Request timed out at the gateway' },
    });
    expect(b.client.size).toBe(0);
    // The calling side's own deadline was called off with the answer: it sends no cancel later.
    jest.advanceTimersByTime(MARGIN * 10);
    await network.flush();
    expect(network.sent('cancel')).toEqual([]);
  });

  test('when the answer is lost, the calling side gives up by itself past the margin and tells the owner to cancel', async () => {
    jest.useFakeTimers();
    network.drop((t) => t.message.t === 'call');
    const answer = b.client.call('A', 'sid-1', request(7), 500);
    const outcome = answer.catch((err: unknown) => err);
    await network.flush();
    jest.advanceTimersByTime(500 + MARGIN - 1);
    await network.flush();
    expect(b.client.size).toBe(1);
    jest.advanceTimersByTime(1);
    expect(await outcome).toEqual(new CallError('timeout', 'No answer from the tunnel within 500 ms'));
    expect(b.client.size).toBe(0);
    expect(network.sent('cancel', 'B', 'A')).toEqual([
      { t: 'cancel', session: 'sid-1', call: 1, reason: 'Request timed out at the gateway' },
    ]);
  });

  test('an answer arriving after the calling side gave up is dropped', async () => {
    jest.useFakeTimers();
    network.drop((t) => t.message.t === 'answer');
    const { answer, tunnelId } = await relayed(request(7), undefined, 500);
    const outcome = answer.catch((err: unknown) => err);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: 'lost' });
    await network.flush();
    jest.advanceTimersByTime(500 + MARGIN);
    expect(await outcome).toBeInstanceOf(CallError);
    network.drop(undefined);
    // The same answer, late, from the owner.
    a.bus.send('B', { t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 7, result: 'late' } });
    await network.flush();
    expect(b.client.size).toBe(0);
  });

  test('a call while the bus is down fails at once as unreachable, and nothing is sent', async () => {
    b.bus.up = false;
    await expect(b.client.call('A', 'sid-1', request(1), 1000)).rejects.toEqual(new CallError('unreachable', CLUSTER_UNREACHABLE));
    expect(network.log).toEqual([]);
    expect(b.client.size).toBe(0);
  });

  test('past maxCalls a call is refused at once as busy (thrown, like a local session)', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(handled(b.client.call('A', 'sid-1', request(i), 1000)));
    expect(() => b.client.call('A', 'sid-1', request(99), 1000)).toThrow(
      new CallError('busy', 'Too many requests in flight through other gateway replicas (limit 5)'),
    );
    expect(network.sent('call')).toHaveLength(5);
    b.client.failAll(new CallError('shutdown', 'done'));
    await Promise.allSettled(answers);
    // Room again.
    const again = b.client.call('A', 'sid-1', request(100), 1000);
    b.client.failAll(new CallError('shutdown', 'done'));
    await expect(again).rejects.toBeInstanceOf(CallError);
  });

  test('answers, failures and progress from a replica other than the one called are ignored', async () => {
    const who = caller('k');
    const { answer, tunnelId } = await relayed(request(1, 'tools/call', { _meta: { progressToken: 't' } }), who);
    const c = network.bus('C');
    c.send('B', { t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 1, result: 'forged' } });
    c.send('B', { t: 'failed', call: 1, reason: 'closed', message: 'forged' });
    c.send('B', {
      t: 'progress',
      call: 1,
      notification: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't' } },
    });
    await network.flush();
    expect(b.client.size).toBe(1);
    expect(who.progress).toEqual([]);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: 'real' });
    await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: 'real' });
  });

  test('receive takes only what is meant for the calling side', () => {
    for (const t of ['answer', 'failed', 'progress', 'ask', 'event'] as const) {
      const message = {
        t,
        call: 99,
        session: 's',
        response: {},
        reason: 'closed',
        message: '',
        notification: {},
        request: request(1),
        event: {},
      };
      expect(b.client.receive('Z', message as never)).toBe(true);
    }
    expect(b.client.receive('Z', { t: 'call', session: 's', call: 1, request: request(1), timeoutMs: 1 })).toBe(false);
    expect(b.client.receive('Z', { t: 'watch', session: 's', level: 'all' })).toBe(false);
    expect(b.client.receive('Z', { t: 'x-end', x: 1 })).toBe(false);
    expect(network.log.filter((s) => s.message.t !== 'forward')).toEqual([]);
  });
});

describe('progress and server requests', () => {
  test("progress reaches the caller with its own token and request id, not the owner's event subscribers", async () => {
    const events: SessionEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const who = caller('mcp-1');
    const { answer, tunnelId } = await relayed(request(42, 'tools/call', { name: 'slow', _meta: { progressToken: 'my-token' } }), who);
    expect(down()[0]).toMatchObject({ id: tunnelId, params: { name: 'slow', _meta: { progressToken: tunnelId } } });
    session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: tunnelId, progress: 1, total: 2 } });
    session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: tunnelId, progress: 2, total: 2 } });
    await network.flush();
    expect(who.progress).toEqual([
      { params: { progressToken: 'my-token', progress: 1, total: 2 }, requestId: 42 },
      { params: { progressToken: 'my-token', progress: 2, total: 2 }, requestId: 42 },
    ]);
    expect(events).toEqual([]);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    await answer;
  });

  /** The owner's MCP router hands a server request to the RelayedCaller of the call in flight. */
  function routeToRelayedCallers(): void {
    session.routeServerRequestsWith({
      route: (req, tunnel) => {
        const target = tunnel.inFlight().find((c) => c.context.caller instanceof RelayedCaller && c.context.caller.canAnswer(req.method));
        if (target) (target.context.caller as RelayedCaller).ask(req);
        else tunnel.tryForward({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'nobody' } });
      },
    });
  }

  test("a server request reaches the caller's replica through the ask handler, and the answer goes back down the tunnel", async () => {
    routeToRelayedCallers();
    const asks: RelayedAsk[] = [];
    b.client.handleAsksWith((ask, reply) => {
      asks.push(ask);
      reply({ jsonrpc: '2.0', id: ask.request.id, result: { roots: [{ uri: 'file:///tmp' }] } });
    });
    const who = caller('mcp-1', ['roots/list']);
    const { answer, tunnelId } = await relayed(request('outer'), who);
    const ask = { jsonrpc: '2.0' as const, id: 'srv-1', method: 'roots/list' };
    session.receive(ask);
    await network.flush();
    expect(asks).toEqual([{ caller: who, request: ask, relatedRequestId: 'outer', tunnelId: 'sid-1' }]);
    expect(network.sent('forward', 'B', 'A')).toHaveLength(1);
    expect(down().at(-1)).toEqual({ jsonrpc: '2.0', id: 'srv-1', result: { roots: [{ uri: 'file:///tmp' }] } });
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    await answer;
  });

  test('without an ask handler the server gets MethodNotFound at once', async () => {
    routeToRelayedCallers();
    const { answer, tunnelId } = await relayed(request('outer'), caller('mcp-1', ['sampling/createMessage']));
    session.receive({ jsonrpc: '2.0', id: 'srv-2', method: 'sampling/createMessage', params: {} });
    await network.flush();
    expect(down().at(-1)).toEqual({
      jsonrpc: '2.0',
      id: 'srv-2',
      error: { code: -32601, message: 'No client can handle sampling/createMessage right now' },
    });
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    await answer;
  });

  test('an ask for a call that is not in flight, has no caller, or comes from another replica gets MethodNotFound', async () => {
    const handler = jest.fn();
    b.client.handleAsksWith(handler);
    const { answer, tunnelId } = await relayed(request('anon'));
    const withCaller = await relayed(request('mcp'), caller('mcp-1', ['roots/list']));
    // A call without a caller.
    a.bus.send('B', { t: 'ask', call: 1, session: 'sid-1', request: request('q1', 'roots/list') });
    // No such call.
    a.bus.send('B', { t: 'ask', call: 99, session: 'sid-1', request: request('q2', 'roots/list') });
    // The call (with a caller that can answer) is A's to ask about, not C's: C is answered, the handler is not called.
    network.bus('C').send('B', { t: 'ask', call: 2, session: 'sid-1', request: request('q3', 'roots/list') });
    await network.flush();
    expect(handler).not.toHaveBeenCalled();
    const refusal = (id: string) => ({
      t: 'forward',
      session: 'sid-1',
      payload: { jsonrpc: '2.0', id, error: { code: -32601, message: 'No client can handle roots/list right now' } },
    });
    expect(network.sent('forward', 'B', 'A')).toEqual([refusal('q1'), refusal('q2')]);
    expect(network.sent('forward', 'B', 'C')).toEqual([refusal('q3')]);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    session.receive({ jsonrpc: '2.0', id: withCaller.tunnelId, result: {} });
    await Promise.all([answer, withCaller.answer]);
  });
});

describe('cancel, find', () => {
  test('cancel by relay id rejects the call and the owner cancels it at the server', async () => {
    const who = caller('mcp-1');
    const { answer, tunnelId } = await relayed(request('mine'), who);
    expect(b.client.findCall('sid-1', 'mcp-1', 'mine')).toBe('r-1');
    expect(b.client.cancel('sid-1', 'r-1', 'user gave up')).toBe(true);
    await expect(answer).rejects.toEqual(new CallError('cancelled', 'user gave up'));
    await network.flush();
    expect(network.sent('cancel', 'B', 'A')).toEqual([{ t: 'cancel', session: 'sid-1', call: 1, reason: 'user gave up' }]);
    expect(down().at(-1)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: tunnelId, reason: 'user gave up' },
    });
    expect([b.client.size, a.server.size, session.pendingCount]).toEqual([0, 0, 0]);
    expect(b.client.cancel('sid-1', 'r-1', 'again')).toBe(false);
    expect(b.client.findCall('sid-1', 'mcp-1', 'mine')).toBeUndefined();
  });

  test('cancel refuses ids that are not relay ids of that session', async () => {
    const { answer, tunnelId } = await relayed(request(1), caller('k'));
    expect(b.client.cancel('sid-2', 'r-1', 'x')).toBe(false);
    expect(b.client.cancel('sid-1', tunnelId, 'x')).toBe(false);
    expect(b.client.cancel('sid-1', 'r-2', 'x')).toBe(false);
    expect(b.client.cancel('sid-1', 'r-', 'x')).toBe(false);
    expect(b.client.cancel('sid-1', '1', 'x')).toBe(false);
    expect(network.sent('cancel')).toEqual([]);
    session.receive({ jsonrpc: '2.0', id: tunnelId, result: {} });
    await answer;
  });

  test("cancelCallsOf rejects the caller's calls here and tells the owner to cancel them at the server", async () => {
    const k = caller('k');
    const j = caller('j');
    const first = await relayed(request(1), k);
    const second = await relayed(request(2), k);
    const other = await relayed(request(3), j);
    expect(b.client.cancelCallsOf('A', 'sid-1', 'k', 'session ended')).toBe(2);
    await expect(first.answer).rejects.toEqual(new CallError('cancelled', 'session ended'));
    await expect(second.answer).rejects.toEqual(new CallError('cancelled', 'session ended'));
    await network.flush();
    expect(network.sent('cancel-caller', 'B', 'A')).toEqual([
      { t: 'cancel-caller', session: 'sid-1', callerKey: 'k', reason: 'session ended' },
    ]);
    const cancelled = down()
      .filter((p) => p.method === 'notifications/cancelled')
      .map((p) => p.params.requestId);
    expect(cancelled.sort()).toEqual([first.tunnelId, second.tunnelId].sort());
    expect(b.client.size).toBe(1);
    session.receive({ jsonrpc: '2.0', id: other.tunnelId, result: 'j' });
    await expect(other.answer).resolves.toEqual({ jsonrpc: '2.0', id: 3, result: 'j' });
    // The same caller's calls on another tunnel are not touched.
    const otherSocket = new FakeSocket();
    const otherSession = a.hold(new TunnelSession('sid-2', 'alice', otherSocket, { maxPending: 10 }));
    const elsewhere = handled(b.client.call('A', 'sid-2', request(4), 1000, k));
    await network.flush();
    expect(b.client.cancelCallsOf('A', 'sid-1', 'k', 'again')).toBe(0);
    otherSession.receive({ jsonrpc: '2.0', id: otherSocket.sent[0].payload.id, result: 'still' });
    await expect(elsewhere).resolves.toEqual({ jsonrpc: '2.0', id: 4, result: 'still' });
    otherSession.close('test over');
    // None here: the owner is told anyway (its calls of that caller may have been made elsewhere).
    expect(b.client.cancelCallsOf('A', 'sid-1', 'k', 'again')).toBe(0);
    expect(network.sent('cancel-caller', 'B', 'A')).toHaveLength(3);
  });

  test('findCall and findCaller see only calls in flight on that session, by that caller', async () => {
    const first = caller('k');
    const second = caller('k');
    const one = await relayed(request('same'), first);
    const two = await relayed(request('other'), second);
    expect(b.client.findCall('sid-1', 'k', 'same')).toBe('r-1');
    expect(b.client.findCall('sid-1', 'k', 'other')).toBe('r-2');
    expect(b.client.findCall('sid-1', 'j', 'same')).toBeUndefined();
    expect(b.client.findCall('sid-2', 'k', 'same')).toBeUndefined();
    // The most recent caller with the key.
    expect(b.client.findCaller('sid-1', 'k')).toBe(second);
    expect(b.client.findCaller('sid-2', 'k')).toBeUndefined();
    expect(b.client.findCaller('sid-1', 'j')).toBeUndefined();
    session.receive({ jsonrpc: '2.0', id: two.tunnelId, result: {} });
    await two.answer;
    expect(b.client.findCaller('sid-1', 'k')).toBe(first);
    session.receive({ jsonrpc: '2.0', id: one.tunnelId, result: {} });
    await one.answer;
    expect(b.client.findCaller('sid-1', 'k')).toBeUndefined();
    expect(b.client.findCall('sid-1', 'k', 'same')).toBeUndefined();
  });
});

describe('watches', () => {
  /** Makes the owner's session emit one event of each kind. */
  async function emitEachKind(): Promise<void> {
    const local = session.call(request('local', 'ping'), 1000);
    session.receive({ jsonrpc: '2.0', id: down().at(-1)?.id, result: {} });
    await local;
    const removeFollower = session.addStreamSubscriber();
    session.receive({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} });
    removeFollower();
    session.receive({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await network.flush();
  }

  test("an 'all' watcher gets every event; a 'notifications' watcher only notifications", async () => {
    const all = collect(b.client.events('A', 'sid-1', 'all'));
    const notes = collect(b.client.events('A', 'sid-1', 'notifications'));
    await network.flush();
    await emitEachKind();
    expect(all.seen.map((e) => e.type)).toEqual(['response', 'request', 'notification']);
    expect(all.seen[0]).toEqual({ type: 'response', payload: { jsonrpc: '2.0', id: 'local', result: {} } });
    expect(notes.seen).toEqual([{ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } }]);
    // Each event crossed the bus once per level the owner was told.
    expect(network.sent('event', 'A', 'B')).toHaveLength(3);
  });

  test('the owner is told the level only when it changes', async () => {
    const levels = () => network.sent('watch', 'B', 'A').map((m) => m.level);
    const all1 = collect(b.client.events('A', 'sid-1', 'all'));
    const all2 = collect(b.client.events('A', 'sid-1', 'all'));
    const notes = collect(b.client.events('A', 'sid-1', 'notifications'));
    expect(levels()).toEqual(['all']);
    all1.subscription.unsubscribe();
    expect(levels()).toEqual(['all']);
    all2.subscription.unsubscribe();
    expect(levels()).toEqual(['all', 'notifications']);
    const all3 = collect(b.client.events('A', 'sid-1', 'all'));
    expect(levels()).toEqual(['all', 'notifications', 'all']);
    all3.subscription.unsubscribe();
    notes.subscription.unsubscribe();
    expect(levels()).toEqual(['all', 'notifications', 'all', 'notifications', 'none']);
    await network.flush();
    // The owner stopped sending.
    await emitEachKind();
    expect(network.sent('event')).toEqual([]);
  });

  test('a notifications watcher alone does not make the owner send answers and server requests', async () => {
    collect(b.client.events('A', 'sid-1', 'notifications'));
    await network.flush();
    await emitEachKind();
    expect(network.sent('event', 'A', 'B').map((m) => m.event.type)).toEqual(['notification']);
  });

  test('closing the tunnel ends the streams, after a closed event', async () => {
    const all = collect(b.client.events('A', 'sid-1', 'all'));
    const notes = collect(b.client.events('A', 'sid-1', 'notifications'));
    await network.flush();
    session.close('client left');
    await network.flush();
    expect(all.seen).toEqual([{ type: 'closed', reason: 'client left' }]);
    expect(notes.seen).toEqual([{ type: 'closed', reason: 'client left' }]);
    expect([all.completed, notes.completed]).toEqual([true, true]);
    // A new watcher starts a new watch; the owner answers that the tunnel is gone.
    const late = collect(b.client.events('A', 'sid-1', 'all'));
    await network.flush();
    expect(late.seen).toEqual([{ type: 'closed', reason: 'The tunnel closed' }]);
    expect(late.completed).toBe(true);
  });

  test('events from a replica other than the owner are ignored', async () => {
    const all = collect(b.client.events('A', 'sid-1', 'all'));
    network.bus('C').send('B', { t: 'event', session: 'sid-1', event: { type: 'closed', reason: 'forged' } });
    await network.flush();
    expect(all.seen).toEqual([]);
    expect(all.completed).toBe(false);
  });

  test('sessionGone ends the streams of that tunnel only', async () => {
    const other = a.hold(new TunnelSession('sid-2', 'bob', new FakeSocket(), { maxPending: 10 }));
    const one = collect(b.client.events('A', 'sid-1', 'all'));
    const two = collect(b.client.events('A', 'sid-2', 'notifications'));
    b.client.sessionGone('sid-1', 'left the directory');
    b.client.sessionGone('unknown', 'nothing');
    expect(one.seen).toEqual([{ type: 'closed', reason: 'left the directory' }]);
    expect([one.completed, two.completed]).toEqual([true, false]);
    other.close('test over');
  });

  test('rewatch tells every owner the current level again', async () => {
    collect(b.client.events('A', 'sid-1', 'notifications'));
    const other = a.hold(new TunnelSession('sid-2', 'bob', new FakeSocket(), { maxPending: 10 }));
    collect(b.client.events('A', 'sid-2', 'all'));
    expect(network.sent('watch', 'B', 'A')).toHaveLength(2);
    b.client.rewatch();
    expect(network.sent('watch', 'B', 'A').slice(2)).toEqual([
      { t: 'watch', session: 'sid-1', level: 'notifications' },
      { t: 'watch', session: 'sid-2', level: 'all' },
    ]);
    other.close('test over');
  });
});

describe('a replica gone, Redis gone', () => {
  let c: RelayReplica;
  let cSession: TunnelSession;
  let cSocket: FakeSocket;

  beforeEach(() => {
    c = new RelayReplica(network, 'C');
    cSocket = new FakeSocket();
    cSession = c.hold(new TunnelSession('sid-c', 'carol', cSocket, { maxPending: 10 }));
  });
  afterEach(() => cSession.close('test over'));

  test("replicaGone fails that replica's calls as closed and ends its watches; the others' go on", async () => {
    const { answer } = await relayed(request(1));
    const atC = handled(b.client.call('C', 'sid-c', request(2), 1000));
    const watchA = collect(b.client.events('A', 'sid-1', 'all'));
    const watchC = collect(b.client.events('C', 'sid-c', 'all'));
    await network.flush();
    b.client.replicaGone('A');
    await expect(answer).rejects.toEqual(new CallError('closed', 'The tunnel closed (its gateway replica stopped)'));
    expect(watchA.seen).toEqual([{ type: 'closed', reason: 'gateway replica stopped' }]);
    expect(watchA.completed).toBe(true);
    expect(watchC.completed).toBe(false);
    expect(b.client.size).toBe(1);
    cSession.receive({ jsonrpc: '2.0', id: cSocket.sent[0].payload.id, result: 'c' });
    await expect(atC).resolves.toEqual({ jsonrpc: '2.0', id: 2, result: 'c' });
  });

  test('failAll fails every relayed call with the given error and returns how many', async () => {
    const one = b.client.call('A', 'sid-1', request(1), 1000);
    const two = b.client.call('C', 'sid-c', request(2), 1000);
    const error = new CallError('unreachable', CLUSTER_UNREACHABLE);
    expect(b.client.failAll(error)).toBe(2);
    await expect(one).rejects.toBe(error);
    await expect(two).rejects.toBe(error);
    expect(b.client.size).toBe(0);
    expect(b.client.failAll(error)).toBe(0);
  });
});
