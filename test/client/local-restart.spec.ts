/**
 * A local server that restarts under a tunnel (README, "What it does when things go wrong"): the
 * tunnel session stays up; a restarted server that registers the same is subscribed again to what
 * the gateway holds and the gateway hears list_changed; one that comes back different registers
 * afresh. In process: TunnelClient, in-process local servers (a new one per start), the stand-in
 * gateway answering every register (a session without resumption, so every frame is plain).
 */
import { Logger } from '../../src/client/logger.js';
import type { TunnelOptions } from '../../src/client/config.js';
import { TunnelClient } from '../../src/client/tunnel-client.js';
import { HELD_SUBSCRIPTION_LIMITS } from '../../src/client/held-subscriptions.js';
import { FakeLocalServers, type FakeLocalServerOptions } from './helpers/fake-local-server.js';
import { testTunnelOptions } from './helpers/tunnel-options.js';
import { MockGateway, type Frame, type MockConnection } from './helpers/mock-gateway.js';

let gw: MockGateway;
let lines: string[];
let client: TunnelClient | undefined;

beforeEach(async () => {
  gw = await MockGateway.start();
  lines = [];
});

afterEach(async () => {
  await client?.stop();
  client = undefined;
  await gw.close();
});

function start(servers: FakeLocalServers, overrides: Partial<TunnelOptions> = {}): void {
  const options = testTunnelOptions(gw.url, { maxRestarts: 5, ...overrides });
  const logger = new Logger({ level: 'debug', sink: { write: (line) => lines.push(line) } });
  client = new TunnelClient(options, { logger, version: 'test', createLocalServer: servers.factory, print: () => undefined });
  void client.run();
}

/** Polls a condition that loopback I/O will make true. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${lines.join('')}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const log = () => lines.join('');
const logged = (pattern: RegExp) => () => pattern.test(log());
const count = (pattern: RegExp) => [...log().matchAll(new RegExp(pattern, 'g'))].length;
const responseTo = (id: string) => (f: Frame) => f.type === 'response' && f.payload?.id === id;
const notifications = (conn: MockConnection) => conn.frames.all.filter((f) => f.type === 'notification').map((f) => f.payload.method);

/** The first connection, registered (the stand-in gateway answers with register_ack and register_complete). */
async function registered(): Promise<{ conn: MockConnection; register: Frame }> {
  const conn = await gw.nextConnection();
  const register = await conn.next('register');
  await until(logged(/registered as "/), 'the tunnel is registered');
  return { conn, register };
}

/** Crashes the running server and waits until the next one is ready and the session carried on. */
async function crashAndCarryOn(servers: FakeLocalServers): Promise<void> {
  const before = count(/tunnel session kept/);
  servers.all[servers.all.length - 1].crash(3);
  await until(() => count(/tunnel session kept/) === before + 1, 'the restarted server carries the session on');
}

test('the tunnel session outlives a local restart: calls in flight fail, calls meanwhile are refused, the same session serves the new server', async () => {
  // The second server takes its time to start, so that the gateway's calls meet the restart.
  const servers = new FakeLocalServers((n) => ({ holdStart: n === 1 }));
  start(servers);
  const { conn } = await registered();
  conn.deliver({ id: 'gw-1', method: 'hold' });
  await until(() => servers.all[0].held.includes('gw-1'), 'the first server holds gw-1');

  servers.all[0].crash(3);
  expect((await conn.next(responseTo('gw-1'))).payload).toEqual({
    jsonrpc: '2.0',
    id: 'gw-1',
    error: { code: -32603, message: 'The local server exited with code 3 before answering' },
  });
  await until(() => servers.all.length === 2, 'the server is being restarted');
  // Meant for the server that is gone: dropped, the new one never sees it.
  conn.deliver({ method: 'notifications/roots/list_changed' });
  expect(await conn.call('gw-2', 'echo', { text: 'meanwhile' })).toEqual({
    jsonrpc: '2.0',
    id: 'gw-2',
    error: { code: -32002, message: 'The local server is restarting' },
  });

  servers.all[1].release();
  await until(logged(/local server restarted; tunnel session kept, 0 subscriptions restored/), 'the session is kept');
  expect(await conn.call('gw-3', 'echo', { text: 'back' })).toEqual({ jsonrpc: '2.0', id: 'gw-3', result: { text: 'back' } });

  expect(servers.all[1].received.map((m) => m.method)).toEqual(['echo']);
  // One connection, one registration, one session id: nothing was unregistered.
  expect(gw.attempts).toBe(1);
  expect(conn.frames.all.map((f) => f.type).filter((t) => t !== 'response' && t !== 'notification')).toEqual(['register']);
  expect(count(/connected as session session-1/)).toBe(1);
  expect(log()).toMatch(/the local server exited with code 3; restarting it in \d\.\d s, the tunnel session stays up/);
  expect(log()).not.toMatch(/connected as session session-2/);
});

test('the subscriptions the gateway holds are sent again to the restarted server under ids of the client, and their answers stay in the client', async () => {
  const servers = new FakeLocalServers(() => ({ capabilities: { resources: { subscribe: true } } }));
  start(servers);
  const { conn } = await registered();
  for (const [id, method, uri] of [
    ['gw-1', 'resources/subscribe', 'file:///a'],
    ['gw-2', 'resources/subscribe', 'file:///b'],
    ['gw-3', 'resources/subscribe', 'file:///c'],
    ['gw-4', 'resources/unsubscribe', 'file:///b'],
    // Refused by the server: the gateway holds no such subscription.
    ['gw-5', 'resources/subscribe', 'refuse:file:///d'],
  ]) {
    await conn.call(id, method, { uri });
  }
  expect([...servers.all[0].subscribed]).toEqual(['file:///a', 'file:///c']);

  await crashAndCarryOn(servers);
  // Frames go in order: once this is answered, any answer to a re-subscription would have been sent too.
  await conn.call('gw-6', 'echo', { text: 'sync' });
  expect(servers.all[1].received).toEqual([
    { jsonrpc: '2.0', id: 'tunnel-resubscribe-1', method: 'resources/subscribe', params: { uri: 'file:///a' } },
    { jsonrpc: '2.0', id: 'tunnel-resubscribe-2', method: 'resources/subscribe', params: { uri: 'file:///c' } },
    { jsonrpc: '2.0', id: 'gw-6', method: 'echo', params: { text: 'sync' } },
  ]);
  expect([...servers.all[1].subscribed]).toEqual(['file:///a', 'file:///c']);
  expect(log()).toMatch(/local server restarted; tunnel session kept, 2 subscriptions restored/);

  // And again after another restart: what the gateway holds has not changed.
  await crashAndCarryOn(servers);
  await conn.call('gw-7', 'echo', { text: 'sync' });
  expect(servers.all[2].received.map((m) => [m.id, m.params?.uri])).toEqual([
    ['tunnel-resubscribe-3', 'file:///a'],
    ['tunnel-resubscribe-4', 'file:///c'],
    ['gw-7', undefined],
  ]);
  expect(conn.frames.all.filter((f) => f.type === 'response').map((f) => f.payload.id)).toEqual([
    'gw-1',
    'gw-2',
    'gw-3',
    'gw-4',
    'gw-5',
    'gw-6',
    'gw-7',
  ]);
});

test('an unsubscribe that arrives while the server restarts is refused, and the URI is not restored: the gateway let it go', async () => {
  const servers = new FakeLocalServers((n) => ({ holdStart: n === 1 }));
  start(servers);
  const { conn } = await registered();
  await conn.call('gw-1', 'resources/subscribe', { uri: 'file:///a' });
  await conn.call('gw-2', 'resources/subscribe', { uri: 'file:///b' });
  servers.all[0].crash(3);
  await until(() => servers.all.length === 2, 'the server is being restarted');
  expect((await conn.call('gw-3', 'resources/unsubscribe', { uri: 'file:///b' })).error).toMatchObject({ code: -32002 });

  servers.all[1].release();
  await until(logged(/tunnel session kept, 1 subscription restored/), 'the session is kept');
  await conn.call('gw-4', 'echo', { text: 'sync' });
  expect(servers.all[1].received.map((m) => [m.method, m.params?.uri])).toEqual([
    ['resources/subscribe', 'file:///a'],
    ['echo', undefined],
  ]);
});

test('a subscription past the limits is relayed as usual but not remembered, and the log says a restart will not restore it', async () => {
  const servers = new FakeLocalServers();
  start(servers);
  const { conn } = await registered();
  const long = `file:///${'x'.repeat(HELD_SUBSCRIPTION_LIMITS.uriLength)}`;
  expect(await conn.call('gw-1', 'resources/subscribe', { uri: long })).toEqual({ jsonrpc: '2.0', id: 'gw-1', result: {} });
  expect(log()).toMatch(
    /WARN a restart of the local server will not restore the subscription to "file:\/\/\/x+…" \(its URI is longer than 2048 characters\)/,
  );
  await crashAndCarryOn(servers);
  expect(log()).toMatch(/tunnel session kept, 0 subscriptions restored/);
});

test.each([
  ['tools and resources', { tools: {}, resources: { subscribe: true }, logging: {} }, ['tools', 'resources']],
  ['prompts only', { prompts: { listChanged: true }, completions: {} }, ['prompts']],
  ['all three', { tools: { listChanged: true }, prompts: {}, resources: {} }, ['tools', 'prompts', 'resources']],
  ['none of the lists', { logging: {} }, []],
])(
  'after a restart the gateway hears list_changed for the lists the server declares, and only those (%s)',
  async (_what, capabilities, lists) => {
    const servers = new FakeLocalServers(() => ({ capabilities }));
    start(servers);
    const { conn } = await registered();
    await conn.call('gw-1', 'echo', { text: 'before' });
    expect(notifications(conn)).toEqual([]);

    await crashAndCarryOn(servers);
    // The notifications leave before anything the new server answers.
    await conn.call('gw-2', 'echo', { text: 'after' });
    expect(notifications(conn)).toEqual(lists.map((list) => `notifications/${list}/list_changed`));
    expect(conn.frames.all.filter((f) => f.type === 'notification').map((f) => f.payload)).toEqual(
      lists.map((list) => ({ jsonrpc: '2.0', method: `notifications/${list}/list_changed` })),
    );
  },
);

test('capabilities that differ only in key order are the same registration', async () => {
  const servers = new FakeLocalServers((n) => ({
    capabilities:
      n === 0
        ? { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true } }
        : {
            resources: { listChanged: true, subscribe: true },
            tools: { listChanged: true },
          },
  }));
  start(servers);
  const { conn } = await registered();
  await crashAndCarryOn(servers);
  await conn.call('gw-1', 'echo', { text: 'same' });
  expect(gw.attempts).toBe(1);
});

test.each<[string, (n: number) => FakeLocalServerOptions, RegExp]>([
  ['other capabilities', (n) => ({ capabilities: n === 0 ? { tools: {} } : { tools: {}, prompts: {} } }), /declares other capabilities/],
  ['another name', (n) => ({ name: n === 0 ? 'fake' : 'renamed' }), /is now named "renamed"/],
])(
  'a restarted server that registers differently (%s) ends the session and registers again as a new one',
  async (_what, options, change) => {
    const servers = new FakeLocalServers(options);
    // No --name: the name follows the server's serverInfo.name.
    start(servers, { name: undefined });
    const { conn: first, register } = await registered();
    await first.call('gw-1', 'resources/subscribe', { uri: 'file:///a' });

    servers.all[0].crash(3);
    await first.next('unregister');
    await first.closed;
    const second = await gw.nextConnection();
    const again = await second.next('register');
    expect(again.server).not.toEqual(register.server);
    expect(again.server.name).toBe(options(1).name ?? 'fake');
    expect(again.server.capabilities).toEqual(options(1).capabilities ?? { tools: {} });
    await until(logged(/connected as session session-2/), 'the new session is registered');
    expect(await second.call('gw-1', 'echo', { text: 'new session' })).toMatchObject({ result: { text: 'new session' } });

    expect(log()).toMatch(change);
    expect(log()).not.toMatch(/tunnel session kept/);
    // The gateway subscribes a new session itself; the client sends nothing of its own, nor list_changed.
    expect(servers.all[1].received.map((m) => m.method)).toEqual(['echo']);
    expect([...notifications(first), ...notifications(second)]).toEqual([]);
  },
);
