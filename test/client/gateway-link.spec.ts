/**
 * GatewayLink's reconnect policy against an in-process stand-in gateway: which close makes the
 * next attempt immediate and which one waits out the backoff. Randomness and time are injected
 * (jitter pinned near the ceiling, a hand-moved clock for "stayed up"), and the base is 30 s, so
 * any attempt that is not waived would be tens of seconds away: the tests never wait for one,
 * they read the delay the link chose from its log and stop it.
 */
import { GatewayLink, LINK_STABLE_AFTER_MS, type LinkOptions } from '../../src/client/gateway-link.js';
import { Logger } from '../../src/client/logger.js';
import { tunnelUrl } from '../../src/client/gateway-url.js';
import { TunnelCloseCode } from '../../src/protocol/envelopes.js';
import { MockGateway, type MockConnection } from './helpers/mock-gateway.js';

const BASE_MS = 30_000;

let gw: MockGateway;
let link: GatewayLink | undefined;
let lines: string[];
let clock: number;
let registrations: number;
let fatal: string | undefined;

beforeEach(async () => {
  gw = await MockGateway.start();
  lines = [];
  clock = 1_000_000;
  registrations = 0;
  fatal = undefined;
});

afterEach(async () => {
  await link?.stop();
  link = undefined;
  await gw.close();
});

/** Starts a link (these options, with `overrides`) bringing up the server "policy". */
function startLink(overrides: Partial<LinkOptions> = {}): void {
  link = new GatewayLink(
    {
      url: tunnelUrl(gw.url),
      insecure: false,
      keepaliveMs: 60_000,
      reconnectDelayMs: BASE_MS,
      maxRetries: 0,
      registerTimeoutMs: 5000,
      userAgent: 'gateway-link-spec',
      logger: new Logger({ level: 'info', sink: { write: (line) => lines.push(line) } }),
      random: () => 0.999,
      now: () => clock,
      ...overrides,
    },
    {
      registered: () => registrations++,
      payload: () => undefined,
      disconnected: () => undefined,
      fatal: (message) => (fatal = message),
    },
  );
  link.up({ name: 'policy' });
}

/** Starts a link and waits until its first connection is registered. */
async function registeredLink(): Promise<MockConnection> {
  startLink();
  const conn = await gw.nextConnection();
  await conn.next('register');
  await until(() => registrations === 1, 'registered');
  return conn;
}

/** Waits for I/O on loopback (never for a backoff delay). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${lines.join('')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const logged = (pattern: RegExp) => () => lines.some((line) => pattern.test(line));

test('the gateway closes with 1012: reconnects at once, registers again, and says why', async () => {
  const first = await registeredLink();
  first.ws.close(TunnelCloseCode.Restarting, 'gateway shutting down');
  const second = await gw.nextConnection(2000);
  await second.next('register');
  await until(() => registrations === 2, 'registered again');
  expect(lines.join('')).toMatch(/ gateway restarting \(code 1012: gateway shutting down\); reconnecting now \(attempt 1\)\n/);
  // Routine, so not a warning.
  expect(lines.join('')).not.toMatch(/WARN .*restarting/);
  expect(fatal).toBeUndefined();
});

test('1012 waives only the first attempt: when it fails, the backoff applies', async () => {
  const first = await registeredLink();
  gw.refuseWith = 503;
  first.ws.close(TunnelCloseCode.Restarting, 'gateway shutting down');
  await until(logged(/could not connect/), 'the waived attempt failed');
  expect(gw.attempts).toBe(2);
  expect(lines.join('')).toMatch(
    /reconnecting now \(attempt 1\)\n[\s\S]*could not connect \(HTTP 503: Refused by the test\); reconnecting in 30\.0 s \(attempt 2\)/,
  );
});

test('a registered link that stayed up drops: the first reconnect is immediate', async () => {
  const first = await registeredLink();
  clock += LINK_STABLE_AFTER_MS;
  first.ws.terminate();
  const second = await gw.nextConnection(2000);
  await second.next('register');
  expect(lines.join('')).toMatch(/WARN disconnected \(code 1006\); reconnecting now \(attempt 1\)/);
});

test('a link that drops before it was stable (no 1012) waits out the backoff', async () => {
  const first = await registeredLink();
  clock += LINK_STABLE_AFTER_MS - 1;
  first.ws.terminate();
  await until(logged(/disconnected/), 'the drop is logged');
  expect(lines.join('')).toMatch(/WARN disconnected \(code 1006\); reconnecting in 30\.0 s \(attempt 1\)/);
  expect(gw.attempts).toBe(1);
});

test('a gateway that sends 1012 right after every registration gets no second immediate attempt in a row', async () => {
  const first = await registeredLink();
  first.ws.close(TunnelCloseCode.Restarting);
  const second = await gw.nextConnection(2000);
  await second.next('register');
  await until(() => registrations === 2, 'registered again');
  second.ws.close(TunnelCloseCode.Restarting);
  await until(logged(/attempt 2/), 'the second close is logged');
  expect(lines.join('')).toMatch(/gateway restarting \(code 1012\); reconnecting in 30\.0 s \(attempt 2\)/);
  expect(gw.attempts).toBe(2);
});

test('a link that stayed up resets the schedule: no attempt count carried over from an earlier outage', async () => {
  const first = await registeredLink();
  // An unstable drop counts: attempt 1 would wait ~30 s. Rather than wait, start the link again by hand.
  first.ws.terminate();
  await until(logged(/reconnecting in 30\.0 s \(attempt 1\)/), 'the backoff is chosen');
  await link!.down('test');
  link!.up({ name: 'policy' });
  const second = await gw.nextConnection(2000);
  await second.next('register');
  await until(() => registrations === 2, 'registered again');
  clock += LINK_STABLE_AFTER_MS;
  gw.refuseWith = 503;
  second.ws.terminate();
  await until(logged(/could not connect/), 'the immediate attempt failed');
  // A fresh schedule: the immediate attempt is attempt 1, not 2 (carried over from the earlier drop).
  expect(lines.join('')).toMatch(
    /disconnected \(code 1006\); reconnecting now \(attempt 1\)\n[\s\S]*reconnecting in 30\.0 s \(attempt 2\)/,
  );
});

test('while the gateway holds the session, no reconnect delay exceeds an eighth of its grace period', async () => {
  await gw.close();
  gw = await MockGateway.start({ autoAck: false });
  startLink({ resume: { maxRetainedBytes: 1 << 20 } });
  const first = await gw.nextConnection();
  await first.next('register');
  // 80 s of grace: the 30 s base draw (~29.97 s) is capped at 10 s.
  first.registerAck({ resumeToken: 'token-1', resumeGraceMs: 80_000 });
  first.registerComplete();
  await until(() => registrations === 1, 'registered');
  first.ws.terminate();
  await until(logged(/disconnected/), 'the drop is logged');
  expect(lines.join('')).toMatch(/WARN disconnected \(code 1006\); reconnecting in 10\.0 s \(attempt 1\)/);
  expect(fatal).toBeUndefined();
});
