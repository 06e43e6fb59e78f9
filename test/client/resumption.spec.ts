/**
 * The tunnel client's side of resumption (docs/protocol.md, "Resumption"), in process: a
 * TunnelClient with an in-process local server against the stand-in gateway, which the tests play
 * frame by frame (a resumable gateway, a refusing one, an older one). The acknowledgement timer is
 * driven by hand; the only waits are for loopback I/O and a reconnect delay of a few ms.
 */
import { Logger } from '../../src/client/logger.js';
import type { TunnelOptions } from '../../src/client/config.js';
import { TunnelClient } from '../../src/client/tunnel-client.js';
import { TunnelCloseCode } from '../../src/protocol/envelopes.js';
import { FakeLocalServer } from './helpers/fake-local-server.js';
import { ManualSchedule } from './helpers/manual-schedule.js';
import { testTunnelOptions } from './helpers/tunnel-options.js';
import { MockGateway, type Frame, type MockConnection } from './helpers/mock-gateway.js';

let gw: MockGateway;
let fake: FakeLocalServer;
let clock: ManualSchedule;
let lines: string[];
let client: TunnelClient | undefined;

beforeEach(async () => {
  gw = await MockGateway.start({ autoAck: false });
  fake = new FakeLocalServer();
  clock = new ManualSchedule();
  lines = [];
});

afterEach(async () => {
  await client?.stop();
  client = undefined;
  await gw.close();
});

function start(overrides: Partial<TunnelOptions> = {}): void {
  const options = testTunnelOptions(gw.url, overrides);
  const logger = new Logger({ level: 'debug', sink: { write: (line) => lines.push(line) } });
  client = new TunnelClient(options, {
    logger,
    version: 'test',
    createLocalServer: fake.factory,
    schedule: clock.schedule,
    print: () => undefined,
  });
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

const logged = (pattern: RegExp) => () => lines.some((line) => pattern.test(line));

/** Takes the next connection's register and grants a resumable session with `token`. */
async function granted(token = 'tok-1'): Promise<{ conn: MockConnection; register: Frame }> {
  const conn = await gw.nextConnection();
  const register = await conn.next('register');
  conn.registerAck({ resumeToken: token, resumeGraceMs: 30_000 });
  conn.registerComplete();
  return { conn, register };
}

const echo = (id: string, text: string) => ({ id, method: 'echo', params: { text } });
const hold = (id: string) => ({ id, method: 'hold' });
const rootsChanged = { method: 'notifications/roots/list_changed' };
const responseTo = (id: string) => (f: Frame) => f.type === 'response' && f.payload?.id === id;

/** Cuts the connection while the gateway refuses new ones, and waits until the client has failed to reconnect once. */
async function cut(conn: MockConnection): Promise<void> {
  gw.refuseWith = 503;
  conn.ws.terminate();
  await until(logged(/could not connect \(HTTP 503/), 'a reconnect was refused');
}

test('asks for a resumable session, numbers what it sends, and acknowledges what it gets', async () => {
  start();
  const { conn, register } = await granted();
  expect(register).toEqual({ type: 'register', server: expect.objectContaining({ name: 'fake' }), tokenRefresh: true, resumable: true });

  conn.sendNumbered(1, 0, echo('gw-1', 'a'));
  expect(await conn.next('response')).toEqual({
    type: 'response',
    payload: { jsonrpc: '2.0', id: 'gw-1', result: { text: 'a' } },
    seq: 1,
    ack: 1,
  });
  fake.notify('notifications/message', { level: 'info' });
  expect(await conn.next('notification')).toMatchObject({ seq: 2, ack: 1 });

  // A frame that nothing answers: the acknowledgement goes alone, 100 ms later.
  conn.sendNumbered(2, 2, rootsChanged);
  await until(() => clock.pending.length === 1, 'an ack is scheduled');
  expect(clock.pending).toEqual([100]);
  clock.advance(99);
  clock.advance(1);
  expect(await conn.next('ack')).toEqual({ type: 'ack', ack: 2 });

  // 64 frames since the last acknowledgement: it goes at once, no timer involved.
  for (let seq = 3; seq < 3 + 64; seq++) conn.sendNumbered(seq, 2, rootsChanged);
  expect(await conn.next('ack')).toEqual({ type: 'ack', ack: 66 });
  expect(clock.pending).toEqual([]);
  expect(conn.frames.all.filter((f) => f.type === 'ack')).toHaveLength(2);
});

test('a drop with frames in flight both ways: the resume sends again exactly what the gateway missed, and takes what it missed once', async () => {
  start();
  const { conn: first, register } = await granted('tok-1');
  first.sendNumbered(1, 0, echo('gw-1', 'one'));
  await first.next(responseTo('gw-1'));
  first.sendNumbered(2, 1, echo('gw-2', 'two'));
  // The gateway will say it never got this one: lost with the connection.
  const lost = await first.next(responseTo('gw-2'));
  expect(lost).toMatchObject({ seq: 2, ack: 2 });
  first.sendNumbered(3, 1, hold('gw-3'));
  await until(() => fake.held.includes('gw-3'), 'the local server holds gw-3');

  await cut(first);
  // While disconnected the local server answers and speaks: numbered and kept, not dropped.
  fake.answer('gw-3', 'three');
  fake.notify('notifications/progress', { n: 1 });
  gw.refuseWith = undefined;

  const second = await gw.nextConnection();
  expect(await second.next('register')).toEqual({ type: 'register', server: register.server, resume: { token: 'tok-1', lastReceived: 3 } });
  second.registerAck({ sessionId: first.sessionId, resumed: true, resumeToken: 'tok-2', lastReceived: 1, resumeGraceMs: 30_000 });
  // What the client missed (gw-4), after a copy of what it had (gw-3), as a gateway's resend may overlap.
  second.sendNumbered(3, 1, hold('gw-3'));
  second.sendNumbered(4, 1, echo('gw-4', 'four'));
  second.registerComplete(first.sessionId);
  await second.next(responseTo('gw-4'));

  expect(second.frames.all.map((f) => [f.type, f.seq, f.ack])).toEqual([
    ['register', undefined, undefined],
    ['response', 2, 2],
    ['response', 3, 3],
    ['notification', 4, 3],
    ['response', 5, 4],
  ]);
  // Sent again as it was first sent.
  expect(second.frames.all[1]).toEqual(lost);
  expect(second.frames.all[2].payload).toEqual({ jsonrpc: '2.0', id: 'gw-3', result: { text: 'three' } });
  expect(fake.requestIds).toEqual(['gw-1', 'gw-2', 'gw-3', 'gw-4']);
  expect(lines.join('')).toMatch(/tunnel resumed \(session session-1, resent 3 frames\)/);
  expect(lines.join('')).not.toMatch(/connected as session session-2/);

  // The next resume uses the token the last one handed out.
  second.ws.terminate();
  const third = await gw.nextConnection();
  expect((await third.next('register')).resume).toEqual({ token: 'tok-2', lastReceived: 4 });
});

test('duplicates are dropped unread: the local server gets each frame once', async () => {
  start();
  const { conn } = await granted();
  // A notification, so that only the numbering (not the request-id guard) can keep the copy out.
  conn.sendNumbered(1, 0, rootsChanged);
  conn.sendNumbered(1, 0, rootsChanged);
  conn.sendNumbered(2, 0, echo('gw-2', 'y'));
  conn.sendNumbered(2, 0, echo('gw-2', 'y'));
  conn.sendNumbered(3, 0, echo('gw-3', 'z'));
  await conn.next(responseTo('gw-3'));
  expect(fake.received.map((m) => m.method)).toEqual(['notifications/roots/list_changed', 'echo', 'echo']);
  expect(conn.frames.all.filter((f) => f.type === 'response').map((f) => f.payload.id)).toEqual(['gw-2', 'gw-3']);
  expect(lines.join('')).toMatch(/dropping frame 1 from the gateway: received already/);
  expect(lines.join('')).not.toMatch(/second copy/);
});

test('a frame that skips a number: the client drops the connection at once and resumes from what it has', async () => {
  start();
  const { conn } = await granted('tok-1');
  conn.sendNumbered(1, 0, echo('gw-1', 'x'));
  await conn.next(responseTo('gw-1'));
  conn.sendNumbered(3, 1, echo('gw-3', 'skipped to'));
  await conn.closed;
  const next = await gw.nextConnection();
  expect((await next.next('register')).resume).toEqual({ token: 'tok-1', lastReceived: 1 });
  expect(fake.requestIds).toEqual(['gw-1']);
  expect(lines.join('')).toMatch(/frame 3 from the gateway is out of sequence \(expected 2\); reconnecting to resume/);
  expect(lines.join('')).toMatch(/disconnected \(frame out of sequence\); reconnecting now/);
});

test.each([
  [
    'a register_ack with resumeRefused',
    (conn: MockConnection) =>
      conn.send({ type: 'register_ack', sessionId: conn.sessionId, status: 'error', resumeRefused: true, message: 'token expired' }),
  ],
  ['an error frame', (conn: MockConnection) => conn.send({ type: 'error', message: 'register.resume.token must be a string' })],
])('a resume refused by %s: a fresh registration on the same connection, the old session dropped', async (_what, refuse) => {
  start();
  const { conn: first, register } = await granted('tok-1');
  first.sendNumbered(1, 0, hold('gw-1'));
  await until(() => fake.held.includes('gw-1'), 'the local server holds gw-1');
  first.ws.terminate();

  const second = await gw.nextConnection();
  expect((await second.next('register')).resume).toEqual({ token: 'tok-1', lastReceived: 1 });
  // Kept for a resume that will not happen.
  fake.notify('notifications/message', { text: 'for the old session' });
  refuse(second);
  expect(await second.next('register')).toEqual({ type: 'register', server: register.server, tokenRefresh: true, resumable: true });
  second.registerAck({ resumeToken: 'tok-9', resumeGraceMs: 30_000 });
  second.registerComplete();
  await until(logged(/connected as session session-2/), 'registered afresh');

  // The old session's call finishes: its answer is not for the new session.
  fake.answer('gw-1', 'late');
  // The new session's ids start over: its gw-1 is a new call, handed over.
  second.sendNumbered(1, 0, echo('gw-1', 'new'));
  expect(await second.next('response')).toEqual({
    type: 'response',
    payload: { jsonrpc: '2.0', id: 'gw-1', result: { text: 'new' } },
    seq: 1,
    ack: 1,
  });
  expect(second.frames.all.map((f) => f.type)).toEqual(['register', 'register', 'response']);
  expect(fake.requestIds).toEqual(['gw-1', 'gw-1']);
  expect(lines.join('')).toMatch(/WARN resume refused, registering afresh/);
  expect(gw.attempts).toBe(2);
});

test.each([
  ['piggybacked on a data frame', (conn: MockConnection) => conn.sendNumbered(2, 1, echo('gw-2', 'b'))],
  [
    'in an ack frame',
    (conn: MockConnection) => {
      conn.send({ type: 'ack', ack: 1 });
      conn.sendNumbered(2, 0, echo('gw-2', 'b'));
    },
  ],
])(
  "the gateway's acknowledgement (%s) lets frames go: a resume that needs them ends the session (unregister) and a fresh one starts on a new connection",
  async (_how, acknowledge) => {
    start();
    const { conn: first } = await granted('tok-1');
    first.sendNumbered(1, 0, echo('gw-1', 'a'));
    await first.next(responseTo('gw-1'));
    acknowledge(first);
    await first.next(responseTo('gw-2'));
    first.ws.terminate();

    const second = await gw.nextConnection();
    expect((await second.next('register')).resume).toEqual({ token: 'tok-1', lastReceived: 2 });
    // ... and then claims it never had the first answer.
    second.registerAck({ resumed: true, resumeToken: 'tok-2', lastReceived: 0 });
    await second.next('unregister');
    await second.closed;
    expect(second.frames.all.map((f) => f.type)).toEqual(['register', 'unregister']);
    const third = await gw.nextConnection();
    const fresh = await third.next('register');
    expect(fresh).toMatchObject({ resumable: true });
    expect(fresh).not.toHaveProperty('resume');
    expect(lines.join('')).toMatch(/frames it missed were let go \(--resume-buffer\); ending it and registering afresh/);
  },
);

test('past --resume-buffer while disconnected the session cannot resume: the client registers afresh', async () => {
  start({ resumeBufferBytes: 300 });
  const { conn } = await granted('tok-1');
  await cut(conn);
  for (let i = 0; i < 5; i++) fake.notify('notifications/message', { data: 'x'.repeat(100) });
  await until(logged(/this session cannot be resumed/), 'the overflow is reported');
  gw.refuseWith = undefined;
  const next = await gw.nextConnection();
  const register = await next.next('register');
  expect(register.resumable).toBe(true);
  expect(register).not.toHaveProperty('resume');
  expect(lines.join('')).toMatch(/the session cannot be resumed \(frames past --resume-buffer were let go\); registering afresh/);
});

test('a gateway that closes with 1012 (restarting) has ended the session: the client registers afresh', async () => {
  start();
  const { conn } = await granted('tok-1');
  conn.ws.close(TunnelCloseCode.Restarting, 'gateway shutting down');
  const next = await gw.nextConnection();
  const register = await next.next('register');
  expect(register).toMatchObject({ resumable: true });
  expect(register).not.toHaveProperty('resume');
});

test('at most once: a request id already handed to the local server is not handed again, even under a new seq', async () => {
  start();
  const { conn } = await granted();
  conn.sendNumbered(1, 0, echo('gw-1', 'a'));
  conn.sendNumbered(2, 0, echo('gw-1', 'a'));
  conn.sendNumbered(3, 0, echo('gw-2', 'b'));
  await conn.next(responseTo('gw-2'));
  expect(fake.requestIds).toEqual(['gw-1', 'gw-2']);
  expect(conn.frames.all.filter((f) => f.type === 'response').map((f) => f.payload.id)).toEqual(['gw-1', 'gw-2']);
  expect(lines.join('')).toMatch(/dropping a second copy of request "gw-1" from the gateway/);
});

test('--no-resume speaks the base protocol: no resumable, no seq or ack, no ack frames, a plain register after a drop', async () => {
  start({ resume: false });
  const conn = await gw.nextConnection();
  const register = await conn.next('register');
  expect(Object.keys(register)).toEqual(['type', 'server', 'tokenRefresh']);
  // Even a gateway that offers resumption unasked does not change that.
  conn.registerAck({ resumeToken: 'unasked', resumeGraceMs: 30_000 });
  conn.registerComplete();

  conn.sendNumbered(1, 0, echo('gw-1', 'a'));
  expect(await conn.next('response')).toEqual({ type: 'response', payload: { jsonrpc: '2.0', id: 'gw-1', result: { text: 'a' } } });
  conn.sendNumbered(2, 0, rootsChanged);
  fake.notify('notifications/message', { n: 1 });
  expect(await conn.next('notification')).toEqual({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/message', params: { n: 1 } },
  });
  expect(clock.pending).toEqual([]);

  await cut(conn);
  fake.notify('notifications/message', { n: 2 });
  gw.refuseWith = undefined;
  const second = await gw.nextConnection();
  expect(await second.next('register')).toEqual({ type: 'register', server: register.server, tokenRefresh: true });
  second.ack();
  expect(await second.next('notification')).toEqual({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/message', params: { n: 2 } },
  });
  expect([...conn.frames.all, ...second.frames.all].filter((f) => f.type === 'ack' || 'seq' in f || 'resume' in f)).toEqual([]);
  expect(lines.join('')).toMatch(/relayed 1 message the local server sent while the gateway was away/);
});

test('a gateway without resumption (no resumeToken): the base protocol on the wire, and a fresh resumable register after a drop', async () => {
  start();
  const conn = await gw.nextConnection();
  expect((await conn.next('register')).resumable).toBe(true);
  conn.ack();
  conn.deliver(echo('gw-1', 'a'));
  expect(await conn.next('response')).toEqual({ type: 'response', payload: { jsonrpc: '2.0', id: 'gw-1', result: { text: 'a' } } });
  conn.ws.terminate();
  const second = await gw.nextConnection();
  const register = await second.next('register');
  expect(register.resumable).toBe(true);
  expect(register).not.toHaveProperty('resume');
});
