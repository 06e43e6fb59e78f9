import { AccessRules } from '../../../src/auth/access-rules.js';
import { sessionRole } from '../../../src/reverse-proxy/tunnel/session-access.js';
import type { SessionRecord } from '../../../src/reverse-proxy/cluster/cluster-directory.js';
import { RemoteTunnel } from '../../../src/reverse-proxy/cluster/remote-tunnel.js';
import type { TunnelCaller } from '../../../src/reverse-proxy/tunnel/call-context.js';
import { CallError, CLUSTER_UNREACHABLE } from '../../../src/reverse-proxy/tunnel/call-error.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeClusterNetwork, RelayReplica } from '../../support/fake-cluster-bus.js';
import { FakeSocket } from '../../support/fake-socket.js';

/** A tunnel held by replica A, as replica B's doors see it: a RemoteTunnel over B's RelayClient. */

let network: FakeClusterNetwork;
let a: RelayReplica;
let b: RelayReplica;
let socket: FakeSocket;
let session: TunnelSession;
let tunnel: RemoteTunnel;

const server = {
  name: 'files',
  protocolVersion: '2025-06-18',
  capabilities: { tools: {} },
  serverInfo: { name: 'files', version: '1.0.0' },
};

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 'sid-1',
    replica: 'A',
    owner: 'alice',
    name: 'files',
    server: { ...server },
    connectedAt: new Date('2030-01-02T03:04:05Z'),
    state: 'ready',
    counters: { messagesIn: 3, messagesOut: 4, bytesIn: 300, bytesOut: 400, pendingCount: 0, lastActivity: 1_900_000_000_000 },
    ...overrides,
  };
}

/** `promise`, marked as handled: a test that fails early leaves no unhandled rejection behind when afterEach fails the calls. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

const down = () => socket.sent.filter((f) => f.type === 'request').map((f) => f.payload);

beforeEach(() => {
  network = new FakeClusterNetwork();
  a = new RelayReplica(network, 'A');
  b = new RelayReplica(network, 'B');
  socket = new FakeSocket();
  session = a.hold(new TunnelSession('sid-1', 'alice', socket, { maxPending: 10 }));
  tunnel = new RemoteTunnel(record(), b.bus.asBus(), b.client);
});

afterEach(async () => {
  session.close('test over');
  b.client.failAll(new CallError('shutdown', 'test over'));
  await network.flush();
});

describe('description, from the directory record', () => {
  test('getters and info() come from the record', () => {
    expect([tunnel.id, tunnel.replica, tunnel.owner, tunnel.name, tunnel.state, tunnel.isOpen, tunnel.closeReason]).toEqual([
      'sid-1',
      'A',
      'alice',
      'files',
      'ready',
      true,
      undefined,
    ]);
    expect(tunnel.server).toEqual(server);
    expect(tunnel.connectedAt).toEqual(new Date('2030-01-02T03:04:05Z'));
    expect(tunnel.info()).toEqual({
      id: 'sid-1',
      name: 'files',
      owner: 'alice',
      state: 'ready',
      server,
      connectedAt: new Date('2030-01-02T03:04:05Z'),
      lastActivity: 1_900_000_000_000,
      messagesIn: 3,
      messagesOut: 4,
      bytesIn: 300,
      bytesOut: 400,
      pendingCount: 0,
      suspended: false,
    });
  });

  test("info() gives a copy of the server description, not the record's", () => {
    const info = tunnel.info();
    info.server!.name = 'changed';
    expect(tunnel.server?.name).toBe('files');
  });

  test('an anonymous tunnel before register has no name, server or owner', () => {
    const early = new RemoteTunnel(
      record({ owner: null, name: undefined, server: undefined, state: 'connected' }),
      b.bus.asBus(),
      b.client,
    );
    expect([early.owner, early.name, early.server, early.isOpen, early.isReady()]).toEqual([null, undefined, undefined, true, false]);
    expect(early.info()).toMatchObject({ owner: null, name: undefined, server: undefined, state: 'connected' });
  });

  test('isReady only when ready, named and described', () => {
    expect(tunnel.isReady()).toBe(true);
    expect(new RemoteTunnel(record({ state: 'registered' }), b.bus.asBus(), b.client).isReady()).toBe(false);
    expect(new RemoteTunnel(record({ server: undefined }), b.bus.asBus(), b.client).isReady()).toBe(false);
    expect(new RemoteTunnel(record({ name: undefined }), b.bus.asBus(), b.client).isReady()).toBe(false);
    expect(new RemoteTunnel(record({ state: 'closed' }), b.bus.asBus(), b.client).isReady()).toBe(false);
  });

  test('update takes a newer record of the same session only', () => {
    tunnel.update(record({ counters: { ...record().counters, messagesIn: 99 }, state: 'registered' }));
    expect([tunnel.info().messagesIn, tunnel.state]).toEqual([99, 'registered']);
    tunnel.update(record({ id: 'sid-2', owner: 'mallory' }));
    expect([tunnel.id, tunnel.owner]).toEqual(['sid-1', 'alice']);
  });

  test('markGone closes it: calls and forwards are refused without a message sent', async () => {
    tunnel.markGone();
    expect([tunnel.isOpen, tunnel.state, tunnel.closeReason, tunnel.isReady()]).toEqual([false, 'closed', 'closed', false]);
    await expect(tunnel.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 1000)).rejects.toEqual(
      new CallError('closed', 'The tunnel is closed'),
    );
    expect(() => tunnel.forward({ jsonrpc: '2.0', method: 'x' })).toThrow(new CallError('closed', 'The tunnel is closed'));
    expect(tunnel.tryForward({ jsonrpc: '2.0', method: 'x' })).toBe(false);
    expect(network.log).toEqual([]);
  });

  test("pendingCount is this replica's calls in flight, or the owner's count if larger", async () => {
    expect(tunnel.pendingCount).toBe(0);
    const one = handled(tunnel.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 1000));
    const two = handled(tunnel.call({ jsonrpc: '2.0', id: 2, method: 'x' }, 1000));
    expect([tunnel.pendingCount, tunnel.info().pendingCount]).toEqual([2, 2]);
    tunnel.update(record({ counters: { ...record().counters, pendingCount: 7 } }));
    expect([tunnel.pendingCount, tunnel.info().pendingCount]).toEqual([7, 7]);
    tunnel.update(record({ counters: { ...record().counters, pendingCount: 1 } }));
    expect(tunnel.pendingCount).toBe(2);
    await network.flush();
    for (const p of down()) session.receive({ jsonrpc: '2.0', id: p.id, result: {} });
    await Promise.all([one, two]);
    expect(tunnel.pendingCount).toBe(1);
  });
});

describe('verbs, relayed to the replica holding the tunnel', () => {
  test('call is answered by the tunnel on A', async () => {
    const answer = handled(tunnel.call({ jsonrpc: '2.0', id: 'q', method: 'tools/list' }, 1000));
    await network.flush();
    session.receive({ jsonrpc: '2.0', id: down()[0].id, result: { tools: [] } });
    await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 'q', result: { tools: [] } });
  });

  test('call, findCall, findCaller and cancel go through the relay by relay id', async () => {
    const who: TunnelCaller = { key: 'mcp-1', onProgress: () => undefined };
    const answer = handled(tunnel.call({ jsonrpc: '2.0', id: 'mine', method: 'tools/call' }, 1000, who));
    await network.flush();
    expect(tunnel.findCall('mcp-1', 'mine')).toBe('r-1');
    expect(tunnel.findCaller('mcp-1')).toBe(who);
    expect(tunnel.cancel('r-1', 'gave up')).toBe(true);
    await expect(answer).rejects.toEqual(new CallError('cancelled', 'gave up'));
    await network.flush();
    expect(down().at(-1)).toMatchObject({ method: 'notifications/cancelled', params: { reason: 'gave up' } });
    expect(tunnel.cancel('r-1', 'again')).toBe(false);
  });

  test('cancelCallsOf goes through the relay to the owner', async () => {
    const who: TunnelCaller = { key: 'mcp-1', onProgress: () => undefined };
    const answer = handled(tunnel.call({ jsonrpc: '2.0', id: 1, method: 'tools/call' }, 1000, who));
    await network.flush();
    expect(tunnel.cancelCallsOf('mcp-1', 'session ended')).toBe(1);
    await expect(answer).rejects.toEqual(new CallError('cancelled', 'session ended'));
    await network.flush();
    expect(network.sent('cancel-caller', 'B', 'A')).toEqual([
      { t: 'cancel-caller', session: 'sid-1', callerKey: 'mcp-1', reason: 'session ended' },
    ]);
    expect(session.pendingCount).toBe(0);
  });

  test('abandonCalls leaves the calls to the replica holding the tunnel', () => {
    expect(tunnel.abandonCalls()).toBe(0);
  });

  test('forward sends the message down the tunnel on A', async () => {
    tunnel.forward({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(tunnel.tryForward({ jsonrpc: '2.0', id: 'srv-1', result: {} })).toBe(true);
    await network.flush();
    expect(down()).toEqual([
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'srv-1', result: {} },
    ]);
  });

  test("forward throws CallError('unreachable') while the bus is down; tryForward is false", async () => {
    b.bus.up = false;
    expect(() => tunnel.forward({ jsonrpc: '2.0', method: 'x' })).toThrow(new CallError('unreachable', CLUSTER_UNREACHABLE));
    expect(tunnel.tryForward({ jsonrpc: '2.0', method: 'x' })).toBe(false);
    await expect(tunnel.call({ jsonrpc: '2.0', id: 1, method: 'x' }, 1000)).rejects.toEqual(
      new CallError('unreachable', CLUSTER_UNREACHABLE),
    );
    expect(network.log).toEqual([]);
  });

  test('publish reaches the tunnel subscribers on A', async () => {
    const events: SessionEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const event: SessionEvent = { type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message' } };
    tunnel.publish(event);
    await network.flush();
    expect(events).toEqual([event]);
  });

  test('addStreamSubscriber follows the tunnel on A; its removal (once) unfollows', async () => {
    const removeOne = tunnel.addStreamSubscriber();
    const removeTwo = tunnel.addStreamSubscriber();
    await network.flush();
    expect(session.hasStreamSubscribers).toBe(true);
    removeOne();
    removeOne();
    await network.flush();
    expect(session.hasStreamSubscribers).toBe(true);
    removeTwo();
    await network.flush();
    expect(session.hasStreamSubscribers).toBe(false);
    expect(network.sent('follow', 'B', 'A').map((m) => m.on)).toEqual([true, true, false, false]);
  });

  test('routeServerRequestsWith does nothing here (the owner routes)', () => {
    tunnel.routeServerRequestsWith({ route: () => undefined });
    tunnel.routeServerRequestsWith(undefined);
    expect(network.log).toEqual([]);
  });

  test('close sends close to A, with the code when one is given', async () => {
    tunnel.close('taken over', 4001);
    await network.flush();
    expect(network.sent('close', 'B', 'A')).toEqual([{ t: 'close', session: 'sid-1', reason: 'taken over', code: 4001 }]);
    expect(session.isOpen).toBe(false);
    expect(socket.closedWith).toEqual({ code: 4001, reason: 'taken over' });
  });

  test('close without a code sends none', async () => {
    tunnel.close('admin');
    await network.flush();
    expect(network.sent('close', 'B', 'A')).toEqual([{ t: 'close', session: 'sid-1', reason: 'admin' }]);
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'admin' });
  });
});

describe('events', () => {
  test('events$ relays every event; notifications$ only notifications and closed; both end when the tunnel closes', async () => {
    const all: SessionEvent[] = [];
    const notes: SessionEvent[] = [];
    let completed = 0;
    tunnel.events$.subscribe({ next: (e) => all.push(e), complete: () => completed++ });
    tunnel.notifications$.subscribe({ next: (e) => notes.push(e), complete: () => completed++ });
    expect(network.sent('watch', 'B', 'A')).toEqual([{ t: 'watch', session: 'sid-1', level: 'all' }]);
    await network.flush();
    const answer = session.call({ jsonrpc: '2.0', id: 'local', method: 'ping' }, 1000);
    session.receive({ jsonrpc: '2.0', id: down()[0].id, result: {} });
    await answer;
    session.receive({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    session.close('bye');
    await network.flush();
    expect(all.map((e) => e.type)).toEqual(['response', 'notification', 'closed']);
    expect(notes).toEqual([
      { type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } },
      { type: 'closed', reason: 'bye' },
    ]);
    expect(completed).toBe(2);
  });

  test('no subscriber, no watch', () => {
    expect(network.sent('watch')).toEqual([]);
  });
});

test("the record's access rules decide here; malformed ones read as only the owner; a newer record replaces them", () => {
  const bob = { user: 'bob', isAdmin: false, via: 'jwt' as const, groups: ['eng'] };
  expect(sessionRole(tunnel, bob)).toBeUndefined();
  tunnel.update(record({ access: { users: [], groups: ['eng'], everyone: false } }));
  expect(sessionRole(tunnel, bob)).toBe('user');
  tunnel.update(record({ access: { users: 'everyone', groups: [], everyone: 'yes' } as never }));
  expect(sessionRole(tunnel, bob)).toBeUndefined();
  expect(sessionRole(tunnel, { user: 'alice', isAdmin: false, via: 'jwt' })).toBe('owner');
});

test('share() relays the rules to the replica holding the tunnel and takes them here at once', async () => {
  tunnel.share(AccessRules.parse('group:eng'));
  expect(tunnel.access.toJSON()).toEqual({ users: [], groups: ['eng'], everyone: false });
  await network.flush();
  expect(a.bus.got('share', 'B')).toEqual([{ t: 'share', session: 'sid-1', rules: { users: [], groups: ['eng'], everyone: false } }]);
});

test("suspended follows the record: what another replica's admission counts", () => {
  expect(tunnel.suspended).toBe(false);
  tunnel.update(record({ suspended: true }));
  expect(tunnel.suspended).toBe(true);
});
