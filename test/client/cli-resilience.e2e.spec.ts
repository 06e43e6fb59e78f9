/**
 * What the real CLI does when things go wrong: the gateway drops it, refuses it, goes silent or
 * is down for a while; the local server crashes once (the session carries on) or keeps crashing.
 */
import { CliProcess, FIXTURE_COMMAND, isAlive, killAll, waitUntil } from './helpers/cli-process.js';
import { MockGateway, type MockGatewayOptions } from './helpers/mock-gateway.js';

const TOKEN = 'test-token-not-a-jwt';

let gw: MockGateway;
async function startGateway(options: MockGatewayOptions = {}): Promise<MockGateway> {
  gw = await MockGateway.start(options);
  return gw;
}
afterEach(async () => {
  await killAll();
  await gw?.close();
});

/** Short delays so reconnects and restarts happen quickly. */
function startCli(extra: string[] = [], command = FIXTURE_COMMAND): CliProcess {
  return new CliProcess(['--local-stdio', command, '--gateway', gw.url, '--token', TOKEN, '--reconnect-delay', '0.05', ...extra]);
}

test('reconnects after the gateway drops it and registers again under the same name, with the same local server', async () => {
  await startGateway();
  const cli = startCli();
  const first = await gw.nextConnection();
  const name = (await first.next('register')).server.name;
  await cli.waitForLog(/registered as/);

  first.ws.terminate();
  const second = await gw.nextConnection();
  expect((await second.next('register')).server.name).toBe(name);
  const answer = await second.call('after-reconnect', 'tools/call', { name: 'echo', arguments: { text: 'still here' } });
  expect(answer.result.content[0].text).toBe('still here');
  // One local server for the whole run: reconnecting does not spawn another.
  expect(cli.serverPids).toHaveLength(1);
  expect(cli.stderr).toMatch(/disconnected \(.*\); reconnecting in \d+\.\d s \(attempt 1\)/);
});

test.each([401, 403])('HTTP %i on the upgrade: exits non-zero at once, without retrying, and leaves no child', async (status) => {
  await startGateway();
  gw.refuseWith = status;
  const cli = startCli();
  const { code } = await cli.waitForExit();
  expect(code).toBe(1);
  expect(gw.attempts).toBe(1);
  expect(cli.stderr).toMatch(new RegExp(`refused the connection \\(HTTP ${status}: Refused by the test\\); check the token`));
  const [pid] = cli.serverPids;
  await waitUntil(() => !isAlive(pid), 'the local server is gone');
});

test('a 1008 close is not retried either', async () => {
  await startGateway({ autoAck: false });
  const cli = startCli();
  const conn = await gw.nextConnection();
  await conn.next('register');
  conn.ws.close(1008, 'Token expired');
  expect((await cli.waitForExit()).code).toBe(1);
  expect(gw.attempts).toBe(1);
  expect(cli.stderr).toContain('the gateway closed the connection (1008: Token expired)');
});

test('a refused registration is printed as the gateway worded it, and the client exits non-zero', async () => {
  await startGateway({ autoAck: false });
  const cli = startCli(['--name', 'taken']);
  const conn = await gw.nextConnection();
  await conn.next('register');
  conn.ack('error', 'The name "taken" is held by another user');
  expect((await cli.waitForExit()).code).toBe(1);
  expect(cli.stderr).toContain('the gateway refused to register "taken": The name "taken" is held by another user');
  expect(gw.attempts).toBe(1);
});

test('a first connection the gateway refuses ends the run at once, with the status, unless --retry-forever', async () => {
  await startGateway();
  gw.refuseWith = 503;
  const cli = startCli();
  expect((await cli.waitForExit()).code).toBe(1);
  expect(gw.attempts).toBe(1);
  expect(cli.stderr).toMatch(
    /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/reverse-proxy\/ws \(HTTP 503: Refused by the test\): is this the MCP gateway's URL\? \(--retry-forever keeps trying\)/,
  );
  expect(cli.serverPids).toEqual([]);
});

test('gives up after --max-retries failed reconnects', async () => {
  await startGateway();
  const cli = startCli(['--max-retries', '2', '--reconnect-delay', '0.01']);
  const first = await gw.nextConnection();
  await first.next('register');
  gw.refuseWith = 503;
  first.ws.terminate();
  expect((await cli.waitForExit()).code).toBe(1);
  expect(gw.attempts).toBe(3);
  expect(cli.stderr).toMatch(/giving up after 2 reconnect attempts: HTTP 503/);
});

test('drops a gateway that stops showing signs of life and reconnects', async () => {
  // No pongs, no heartbeat replies: after the register answers, the gateway is silent.
  await startGateway({ autoPong: false });
  const cli = startCli(['--keepalive', '0.2']);
  // The connection opens before the local server is ready, so a silent one may be dropped before any register.
  const registering = async () => {
    for (;;) {
      const conn = await gw.nextConnection();
      const registered = await Promise.race([
        conn.next('register').then(
          () => true,
          () => false,
        ),
        conn.closed.then(() => false),
      ]);
      if (registered) return conn;
    }
  };
  const first = await registering();
  await first.closed;
  await registering();
  expect(cli.stderr).toMatch(/no sign of life from the gateway for 0\.4 s/);
});

test('a crashing local server: waiting callers fail at once, it restarts, the tunnel session carries on', async () => {
  await startGateway();
  const cli = startCli(['--name', 'crashy']);
  const conn = await gw.nextConnection();
  await conn.next('register');

  const failed = await conn.call('doomed', 'tools/call', { name: 'crash', arguments: { code: 3 } });
  expect(failed.error).toMatchObject({ message: expect.stringMatching(/local server exited with code 3/) });
  await cli.waitForLog(/local server restarted; tunnel session kept, 0 subscriptions restored/);
  const answer = await conn.call('after-restart', 'tools/call', { name: 'echo', arguments: { text: 'back' } });
  expect(answer.result.content[0].text).toBe('back');

  // Same connection, no unregister, no second register; the gateway heard the lists may have changed.
  expect(gw.attempts).toBe(1);
  expect(conn.frames.all.map((f) => f.type).filter((type) => type === 'register' || type === 'unregister')).toEqual(['register']);
  expect(conn.frames.all.filter((f) => f.type === 'notification').map((f) => f.payload.method)).toEqual([
    'notifications/tools/list_changed',
    'notifications/prompts/list_changed',
    'notifications/resources/list_changed',
  ]);
  const [oldPid, newPid] = cli.serverPids;
  expect(newPid).not.toBe(oldPid);
  expect(isAlive(oldPid)).toBe(false);
  // The server's stderr passes through.
  expect(cli.stderr).toContain('fixture: crashing with code 3');
});

test("after repeated crashes, exits with the server's exit code and its last stderr lines", async () => {
  await startGateway();
  const cli = startCli(['--max-restarts', '1'], `node -e "console.error('boom: missing API key'); process.exit(4)"`);
  const { code } = await cli.waitForExit();
  expect(code).toBe(4);
  expect(cli.stderr).toMatch(/the local server exited with code 4 \(2 times in a row\); giving up/);
  expect(cli.stderr).toMatch(/last lines it wrote to stderr:\n\s+boom: missing API key/);
  expect(cli.serverPids).toHaveLength(2);
  // The gateway was checked first; the server never became ready, so it was never registered.
  expect(gw.attempts).toBe(1);
  expect(cli.stderr).not.toMatch(/registering/);
});

test('a command that does not exist exits 127 without retrying', async () => {
  await startGateway();
  const cli = startCli([], 'no-such-command-for-mcp-tunnel --flag');
  expect((await cli.waitForExit()).code).toBe(127);
  expect(cli.stderr).toContain('command not found: no-such-command-for-mcp-tunnel');
});

test('while the gateway is unreachable, notifications wait in a bounded buffer and the newest go out after reconnecting', async () => {
  await startGateway();
  const cli = startCli(['--max-buffered', '3']);
  const first = await gw.nextConnection();
  await first.next('register');
  // The server will send five notifications shortly after; by then the gateway is gone.
  await first.call('burst', 'tools/call', { name: 'burst', arguments: { count: 5, delayMs: 300 } });
  gw.refuseWith = 503;
  first.ws.terminate();
  await cli.waitForLog(/3 messages are waiting; dropping the oldest/);

  gw.refuseWith = undefined;
  const second = await gw.nextConnection();
  await second.next('register');
  await second.call('sync', 'tools/call', { name: 'echo', arguments: { text: 'x' } });
  const delivered = second.frames.all.filter((f) => f.type === 'notification').map((f) => f.payload.params.data.n);
  expect(delivered).toEqual([3, 4, 5]);
  expect(cli.stderr).toContain('relayed 3 messages the local server sent while the gateway was away (2 older ones were dropped)');
});

test('an answer to a call from before a reconnect is not sent on the new connection', async () => {
  await startGateway();
  const cli = startCli(['--log-level', 'debug']);
  const first = await gw.nextConnection();
  await first.next('register');
  // `sample` waits for our answer, which will never come on this connection.
  first.deliver({ id: 'gw-1', method: 'tools/call', params: { name: 'sample', arguments: { prompt: 'q' } } });
  const ask = await first.next('request');
  first.ws.terminate();

  const second = await gw.nextConnection();
  await second.next('register');
  // The old call completes on the server once sampling is answered (here: refused) ...
  second.send({ type: 'request', payload: { jsonrpc: '2.0', id: ask.payload.id, error: { code: -32000, message: 'gone' } } });
  // ... but the new session must not see an answer for "gw-1": the gateway numbers calls per
  // session, so it could match a new call with the same id.
  await cli.waitForLog(/dropping an answer no caller on this connection waits for \(id "gw-1"\)/);
  await second.call('gw-2', 'tools/call', { name: 'echo', arguments: { text: 'y' } });
  expect(second.frames.all.filter((f) => f.type === 'response').map((f) => f.payload.id)).toEqual(['gw-2']);
});
