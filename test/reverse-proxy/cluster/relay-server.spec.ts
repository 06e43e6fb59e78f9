import { jest } from '@jest/globals';
import { AccessRules } from '../../../src/auth/access-rules.js';
import type { RelayedPrincipal } from '../../../src/reverse-proxy/cluster/relay-envelope.js';
import type { Subscription } from 'rxjs';
import type { JsonRpcRequest } from '../../../src/protocol/json-rpc.js';
import type { RelayMessage } from '../../../src/reverse-proxy/cluster/relay-envelope.js';
import { RelayedCaller } from '../../../src/reverse-proxy/cluster/relayed-caller.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeClusterNetwork, RelayReplica, type FakeClusterBus } from '../../support/fake-cluster-bus.js';
import { FakeSocket } from '../../support/fake-socket.js';

/**
 * The tunnel side of the relay: replica A's RelayServer, over a real TunnelSession, driven by raw
 * relay messages from replicas B and C (whose inboxes show what A answered).
 */

let network: FakeClusterNetwork;
let a: RelayReplica;
let b: FakeClusterBus;
let c: FakeClusterBus;
let socket: FakeSocket;
let session: TunnelSession;

const down = () => socket.sent.filter((f) => f.type === 'request').map((f) => f.payload);
const request = (id: string | number, method = 'tools/call', params?: JsonRpcRequest['params']): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params ? { params } : {}),
});

/** Sends `message` from `from` to A and lets it be handled. */
async function toA(from: FakeClusterBus, message: RelayMessage): Promise<void> {
  from.send('A', message);
  await network.flush();
}

function callFrom(
  from: FakeClusterBus,
  seq: number,
  req: JsonRpcRequest,
  caller?: { key: string; answers: string[]; principal?: RelayedPrincipal },
  timeoutMs = 1000,
) {
  return toA(from, {
    t: 'call',
    session: 'sid-1',
    call: seq,
    request: req,
    timeoutMs,
    ...(caller ? { caller: { ...caller, progress: true } } : {}),
  });
}

beforeEach(() => {
  network = new FakeClusterNetwork();
  a = new RelayReplica(network, 'A');
  b = network.bus('B');
  c = network.bus('C');
  socket = new FakeSocket();
  session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 }));
});

afterEach(() => {
  session.close('test over');
  jest.useRealTimers();
});

describe('calls', () => {
  test("a call runs on the local session and its answer goes back with the calling replica's call number", async () => {
    await callFrom(b, 5, request(42, 'tools/list'));
    const [sent] = down();
    expect(sent).toEqual({ jsonrpc: '2.0', id: 'gw-1', method: 'tools/list' });
    expect(a.server.size).toBe(1);
    session.receive({ jsonrpc: '2.0', id: 'gw-1', result: { tools: [] } });
    await network.flush();
    expect(b.got('answer')).toEqual([{ t: 'answer', call: 5, response: { jsonrpc: '2.0', id: 42, result: { tools: [] } } }]);
    expect(a.server.size).toBe(0);
    expect(c.inbox).toEqual([]);
  });

  test('the call is made for a RelayedCaller standing for the real caller', async () => {
    await callFrom(b, 1, request(1), { key: 'mcp-1', answers: ['roots/list'] });
    await callFrom(b, 2, request(2));
    const [second, first] = session.inFlight();
    const relayedCaller = first.context.caller as RelayedCaller;
    expect(relayedCaller).toBeInstanceOf(RelayedCaller);
    expect([relayedCaller.key, relayedCaller.replica]).toEqual(['mcp-1', 'B']);
    expect([relayedCaller.canAnswer('roots/list'), relayedCaller.canAnswer('sampling/createMessage')]).toEqual([true, false]);
    // Without caller info the key is the relay's own, unique per call.
    expect((second.context.caller as RelayedCaller).key).toBe('relay:B:2');
    expect(session.findCall('mcp-1', 1)).toBe(first.tunnelId);
  });

  test('caller info whose answers are not a list answers nothing', async () => {
    await toA(b, {
      t: 'call',
      session: 'sid-1',
      call: 1,
      request: request(1),
      timeoutMs: 1000,
      caller: { key: 'k', progress: true, answers: 'roots/list' as never },
    });
    expect((session.inFlight()[0].context.caller as RelayedCaller).canAnswer('roots/list')).toBe(false);
  });

  test('a call for a tunnel not held here, or closed, fails as closed', async () => {
    await toA(b, { t: 'call', session: 'nope', call: 1, request: request(1), timeoutMs: 1000 });
    session.close('gone');
    await callFrom(b, 2, request(2));
    expect(b.got('failed')).toEqual([
      { t: 'failed', call: 1, reason: 'closed', message: 'The tunnel closed' },
      { t: 'failed', call: 2, reason: 'closed', message: 'The tunnel closed' },
    ]);
    expect(a.server.size).toBe(0);
  });

  test('a call whose principal may not reach the tunnel is refused where the tunnel is; its owner and an admin are served', async () => {
    const as = (user: string | null, isAdmin = false) => ({
      key: `k-${user}`,
      answers: [],
      principal: { user, isAdmin, via: 'jwt' as const },
    });
    await callFrom(b, 1, request(1), as('mallory'));
    await callFrom(b, 2, request(2), as(null));
    expect(b.got('failed')).toEqual([
      { t: 'failed', call: 1, reason: 'closed', message: 'Not authorized for this server' },
      { t: 'failed', call: 2, reason: 'closed', message: 'Not authorized for this server' },
    ]);
    expect(down()).toEqual([]);
    await callFrom(b, 3, request(3), as('alice'));
    await callFrom(b, 4, request(4), as('root', true));
    expect(down().map((m) => (m as { id: string }).id)).toEqual(['gw-1', 'gw-2']);
  });

  test("the owner's access rules decide there too: a member of a group it is shared with is served, with the relayed groups", async () => {
    const member = { key: 'k-bob', answers: [], principal: { user: 'bob', isAdmin: false, via: 'jwt' as const, groups: ['eng'] } };
    await callFrom(b, 1, request(1), member);
    expect(b.got('failed')).toEqual([{ t: 'failed', call: 1, reason: 'closed', message: 'Not authorized for this server' }]);
    session.share(AccessRules.parse('group:eng'));
    await callFrom(b, 2, request(2), member);
    expect(down().map((m) => (m as { id: string }).id)).toEqual(['gw-1']);
  });

  test('a call the session refuses at once (busy) fails with its reason, and is not kept', async () => {
    session.close('replaced');
    socket = new FakeSocket();
    session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 1 }));
    await callFrom(b, 1, request(1));
    await callFrom(b, 2, request(2));
    expect(b.got('failed')).toEqual([
      { t: 'failed', call: 2, reason: 'busy', message: 'Too many requests in flight on this session (limit 1)' },
    ]);
    expect(a.server.size).toBe(1);
  });

  test('a call that times out at the owner fails as timeout', async () => {
    jest.useFakeTimers();
    await callFrom(b, 3, request(1), undefined, 200);
    jest.advanceTimersByTime(200);
    await network.flush();
    expect(b.got('failed')).toEqual([{ t: 'failed', call: 3, reason: 'timeout', message: 'No answer from the tunnel within 200 ms' }]);
    expect(a.server.size).toBe(0);
  });

  test('a call that fails with something other than a CallError is reported as closed', async () => {
    const failing = jest.spyOn(session, 'call').mockImplementation(() => Promise.reject(new Error('boom')));
    await callFrom(b, 1, request(1));
    expect(b.got('failed')).toEqual([{ t: 'failed', call: 1, reason: 'closed', message: 'The tunnel closed' }]);
    failing.mockImplementation(() => {
      throw new TypeError('sync boom');
    });
    await callFrom(b, 2, request(2));
    expect(b.got('failed')[1]).toEqual({ t: 'failed', call: 2, reason: 'closed', message: 'The tunnel closed' });
    expect(a.server.size).toBe(0);
  });

  test('the same call number from two replicas is two calls', async () => {
    await callFrom(b, 1, request('b'));
    await callFrom(c, 1, request('c'));
    expect(a.server.size).toBe(2);
    session.receive({ jsonrpc: '2.0', id: 'gw-2', result: 'for c' });
    session.receive({ jsonrpc: '2.0', id: 'gw-1', result: 'for b' });
    await network.flush();
    expect(b.got('answer')).toEqual([{ t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 'b', result: 'for b' } }]);
    expect(c.got('answer')).toEqual([{ t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 'c', result: 'for c' } }]);
  });

  test('progress goes back to the calling replica with the caller token', async () => {
    await callFrom(b, 4, request(1, 'tools/call', { _meta: { progressToken: 'tok' } }), { key: 'k', answers: [] });
    expect(down()[0].params._meta.progressToken).toBe('gw-1');
    session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'gw-1', progress: 3 } });
    await network.flush();
    expect(b.got('progress')).toEqual([
      {
        t: 'progress',
        call: 4,
        notification: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok', progress: 3 } },
      },
    ]);
  });

  test("a server request the router hands to the RelayedCaller goes to the caller's replica as an ask", async () => {
    session.routeServerRequestsWith({
      route: (req, tunnel) => (tunnel.inFlight()[0].context.caller as RelayedCaller).ask(req),
    });
    await callFrom(b, 9, request(1), { key: 'k', answers: ['elicitation/create'] });
    const ask = { jsonrpc: '2.0' as const, id: 'srv-1', method: 'elicitation/create', params: { message: '?' } };
    session.receive(ask);
    await network.flush();
    expect(b.got('ask')).toEqual([{ t: 'ask', call: 9, session: 'sid-1', request: ask }]);
    // The answer comes back as a forward.
    await toA(b, { t: 'forward', session: 'sid-1', payload: { jsonrpc: '2.0', id: 'srv-1', result: { action: 'accept' } } });
    expect(down().at(-1)).toEqual({ jsonrpc: '2.0', id: 'srv-1', result: { action: 'accept' } });
  });
});

describe('cancel', () => {
  test('cancel gives up on the call at the server under the id it knows, with the reason cut to 200 characters', async () => {
    await callFrom(b, 1, request(1), { key: 'k', answers: [] });
    await callFrom(b, 2, request(2), { key: 'k', answers: [] });
    await toA(b, { t: 'cancel', session: 'sid-1', call: 2, reason: 'x'.repeat(500) });
    expect(down().at(-1)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'gw-2', reason: 'x'.repeat(200) },
    });
    expect(session.pendingCount).toBe(1);
    expect(a.server.size).toBe(1);
    expect(session.inFlight()[0].tunnelId).toBe('gw-1');
  });

  test("a replica cannot cancel another replica's call", async () => {
    await callFrom(b, 1, request(1));
    await toA(c, { t: 'cancel', session: 'sid-1', call: 1, reason: 'not yours' });
    await toA(b, { t: 'cancel', session: 'sid-1', call: 2, reason: 'no such call' });
    expect(session.pendingCount).toBe(1);
    expect(down()).toHaveLength(1);
  });

  test('cancel-caller cancels every call of that caller key on the tunnel', async () => {
    await callFrom(b, 1, request(1), { key: 'k', answers: [] });
    await callFrom(b, 2, request(2), { key: 'j', answers: [] });
    await callFrom(b, 3, request(3), { key: 'k', answers: [] });
    await toA(b, { t: 'cancel-caller', session: 'sid-1', callerKey: 'k', reason: 'session closed' });
    const cancelled = down().filter((p) => p.method === 'notifications/cancelled');
    expect(cancelled.map((p) => p.params)).toEqual([
      { requestId: 'gw-3', reason: 'session closed' },
      { requestId: 'gw-1', reason: 'session closed' },
    ]);
    expect(session.inFlight().map((call) => call.tunnelId)).toEqual(['gw-2']);
    await toA(b, { t: 'cancel-caller', session: 'unknown', callerKey: 'j', reason: 'x' });
    expect(session.pendingCount).toBe(1);
  });
});

describe('forward, publish, close', () => {
  test('forward sends an object payload down the tunnel; anything else, or an unknown tunnel, is ignored', async () => {
    await toA(b, { t: 'forward', session: 'sid-1', payload: { jsonrpc: '2.0', method: 'notifications/roots/list_changed' } });
    await toA(b, { t: 'forward', session: 'sid-1', payload: 'text' as never });
    await toA(b, { t: 'forward', session: 'sid-1', payload: [1] as never });
    await toA(b, { t: 'forward', session: 'sid-1', payload: null as never });
    await toA(b, { t: 'forward', session: 'other', payload: { jsonrpc: '2.0', method: 'x' } });
    expect(down()).toEqual([{ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }]);
  });

  test('publish hands an event to the tunnel subscribers', async () => {
    const events: SessionEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const event: SessionEvent = { type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message' } };
    await toA(b, { t: 'publish', session: 'sid-1', event });
    expect(events).toEqual([event]);
  });

  test('close closes the tunnel with the code and the reason cut to 200 characters', async () => {
    await toA(b, { t: 'close', session: 'sid-1', reason: 'r'.repeat(300), code: 4000 });
    expect(session.isOpen).toBe(false);
    expect(session.closeReason).toBe('r'.repeat(200));
    expect(socket.closedWith).toEqual({ code: 4000, reason: 'r'.repeat(120) });
  });

  test('close without a code closes normally', async () => {
    await toA(b, { t: 'close', session: 'sid-1', reason: 'admin' });
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'admin' });
  });

  test('receive takes only what is meant for the tunnel side', () => {
    expect(a.server.receive('B', { t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 1, result: {} } })).toBe(false);
    expect(a.server.receive('B', { t: 'event', session: 'sid-1', event: { type: 'closed', reason: 'x' } })).toBe(false);
    expect(a.server.receive('B', { t: 'hello' })).toBe(false);
    expect(a.server.receive('B', { t: 'x-open', x: 1, request: {} as never })).toBe(false);
    expect(a.server.receive('B', { t: 'follow', session: 'nope', on: false })).toBe(true);
  });
});

describe('watches', () => {
  async function emitEachKind(): Promise<void> {
    const local = session.call(request('local', 'ping'), 1000);
    session.receive({ jsonrpc: '2.0', id: down().at(-1)?.id, result: {} });
    await local;
    const removeFollower = session.addStreamSubscriber();
    session.receive({ jsonrpc: '2.0', id: 'srv-1', method: 'roots/list' });
    removeFollower();
    session.receive({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' });
    await network.flush();
  }
  const types = (bus: FakeClusterBus) => bus.got('event').map((m) => m.event.type);

  test('each watching replica gets the events of its level', async () => {
    await toA(b, { t: 'watch', session: 'sid-1', level: 'notifications' });
    await toA(c, { t: 'watch', session: 'sid-1', level: 'all' });
    await emitEachKind();
    expect(types(b)).toEqual(['notification']);
    expect(types(c)).toEqual(['response', 'request', 'notification']);
    expect(b.got('event')[0]).toEqual({
      t: 'event',
      session: 'sid-1',
      event: { type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/resources/list_changed' } },
    });
  });

  test('a level change takes effect at once; none stops the events', async () => {
    await toA(b, { t: 'watch', session: 'sid-1', level: 'notifications' });
    await toA(b, { t: 'watch', session: 'sid-1', level: 'all' });
    await emitEachKind();
    expect(types(b)).toEqual(['response', 'request', 'notification']);
    await toA(b, { t: 'watch', session: 'sid-1', level: 'none' });
    await emitEachKind();
    expect(types(b)).toHaveLength(3);
  });

  test('one subscription to the session feeds every watcher, and goes when the last one does', async () => {
    const subscribe = jest.spyOn(session.events$, 'subscribe');
    await toA(b, { t: 'watch', session: 'sid-1', level: 'all' });
    await toA(c, { t: 'watch', session: 'sid-1', level: 'notifications' });
    await toA(b, { t: 'watch', session: 'sid-1', level: 'notifications' });
    expect(subscribe).toHaveBeenCalledTimes(1);
    const subscription = subscribe.mock.results[0].value as Subscription;
    await toA(b, { t: 'watch', session: 'sid-1', level: 'none' });
    expect(subscription.closed).toBe(false);
    await toA(c, { t: 'watch', session: 'sid-1', level: 'none' });
    expect(subscription.closed).toBe(true);
    // 'none' from a replica not watching changes nothing.
    await toA(b, { t: 'watch', session: 'sid-1', level: 'none' });
    await toA(b, { t: 'watch', session: 'sid-1', level: 'all' });
    expect(subscribe).toHaveBeenCalledTimes(2);
  });

  test('watching a tunnel not held here is answered with closed at once', async () => {
    await toA(b, { t: 'watch', session: 'gone', level: 'all' });
    expect(b.got('event')).toEqual([{ t: 'event', session: 'gone', event: { type: 'closed', reason: 'The tunnel closed' } }]);
  });

  test('when the tunnel closes every watcher gets closed, whatever its level, and the watch is over', async () => {
    await toA(b, { t: 'watch', session: 'sid-1', level: 'notifications' });
    await toA(c, { t: 'watch', session: 'sid-1', level: 'all' });
    session.close('client left');
    await network.flush();
    expect(b.got('event')).toEqual([{ t: 'event', session: 'sid-1', event: { type: 'closed', reason: 'client left' } }]);
    expect(c.got('event')).toEqual([{ t: 'event', session: 'sid-1', event: { type: 'closed', reason: 'client left' } }]);
    // A new tunnel with the same id (tests only) starts a new watch.
    socket = new FakeSocket();
    session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 }));
    await toA(b, { t: 'watch', session: 'sid-1', level: 'notifications' });
    session.receive({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await network.flush();
    expect(b.got('event')).toHaveLength(2);
  });
});

describe('follows', () => {
  test('follow counts make the session publish server requests, and removals undo them one by one', async () => {
    expect(session.hasStreamSubscribers).toBe(false);
    await toA(b, { t: 'follow', session: 'sid-1', on: true });
    expect(session.hasStreamSubscribers).toBe(true);
    await toA(b, { t: 'follow', session: 'sid-1', on: true });
    await toA(c, { t: 'follow', session: 'sid-1', on: true });
    await toA(b, { t: 'follow', session: 'sid-1', on: false });
    await toA(b, { t: 'follow', session: 'sid-1', on: false });
    expect(session.hasStreamSubscribers).toBe(true);
    // More removals than follows from B do not take C's.
    await toA(b, { t: 'follow', session: 'sid-1', on: false });
    expect(session.hasStreamSubscribers).toBe(true);
    await toA(c, { t: 'follow', session: 'sid-1', on: false });
    expect(session.hasStreamSubscribers).toBe(false);
  });

  test('following a tunnel not held here, or closed, counts nothing', async () => {
    await toA(b, { t: 'follow', session: 'other', on: true });
    session.close('gone');
    await toA(b, { t: 'follow', session: 'sid-1', on: true });
    expect(session.hasStreamSubscribers).toBe(false);
  });

  test('following and unfollowing leaves no subscription behind on the session', async () => {
    const subscribe = jest.spyOn(session.events$, 'subscribe');
    for (let i = 0; i < 5; i++) {
      await toA(b, { t: 'follow', session: 'sid-1', on: true });
      await toA(b, { t: 'follow', session: 'sid-1', on: false });
    }
    const open = subscribe.mock.results.filter((r) => !(r.value as Subscription).closed);
    expect(open.length).toBeLessThanOrEqual(1);
    expect(session.hasStreamSubscribers).toBe(false);
  });
});

describe('a replica gone', () => {
  test("its calls are cancelled at the server, without an answer to it; other replicas' calls go on", async () => {
    await callFrom(b, 1, request(1), { key: 'k', answers: [] });
    await callFrom(c, 1, request(2), { key: 'k', answers: [] });
    a.server.replicaGone('B');
    await network.flush();
    expect(down().at(-1)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'gw-1', reason: 'The caller is gone' },
    });
    expect(b.got('failed')).toEqual([]);
    expect(a.server.size).toBe(1);
    session.receive({ jsonrpc: '2.0', id: 'gw-2', result: 'c' });
    await network.flush();
    expect(c.got('answer')).toHaveLength(1);
  });

  test('its watches and follows are dropped', async () => {
    await toA(b, { t: 'watch', session: 'sid-1', level: 'all' });
    await toA(c, { t: 'watch', session: 'sid-1', level: 'notifications' });
    await toA(b, { t: 'follow', session: 'sid-1', on: true });
    await toA(b, { t: 'follow', session: 'sid-1', on: true });
    expect(session.hasStreamSubscribers).toBe(true);
    a.server.replicaGone('B');
    expect(session.hasStreamSubscribers).toBe(false);
    session.receive({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await network.flush();
    expect(b.got('event')).toEqual([]);
    expect(c.got('event')).toHaveLength(1);
  });

  test('a replica whose id starts like another is not taken for it', async () => {
    const b2 = network.bus('B2');
    await toA(b2, { t: 'follow', session: 'sid-1', on: true });
    await callFrom(b2, 1, request(1));
    a.server.replicaGone('B');
    expect(session.hasStreamSubscribers).toBe(true);
    expect(a.server.size).toBe(1);
  });
});
