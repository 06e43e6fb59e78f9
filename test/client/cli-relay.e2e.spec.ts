/**
 * The real CLI (dist/client/cli.js) with the real fixture server as its child, against a
 * stand-in gateway that records every frame: handshake, register contents, relay both ways,
 * heartbeats, signal shutdown and several servers from one config file.
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliProcess, FIXTURE, FIXTURE_COMMAND, isAlive, killAll, waitUntil } from './helpers/cli-process.js';
import { MockGateway, type Frame } from './helpers/mock-gateway.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0dW5uZWwtdGVzdCJ9.dGVzdC1zaWduYXR1cmUtYnl0ZXM';

let gw: MockGateway;
beforeEach(async () => {
  gw = await MockGateway.start();
});
afterEach(async () => {
  await killAll();
  await gw.close();
});

function startCli(extra: string[] = [], command = FIXTURE_COMMAND): CliProcess {
  return new CliProcess(['--local-stdio', command, '--gateway', gw.url, '--token', TOKEN, ...extra]);
}

const text = (payload: Frame): string => payload.result?.content?.[0]?.text;

test('registers what the local server reported in its handshake, and never its command line', async () => {
  const cli = startCli(
    ['--server-description', 'A fixture', '--log-level', 'debug'],
    `${FIXTURE_COMMAND} --api-key hunter2-cmdline-secret`,
  );
  const conn = await gw.nextConnection();
  expect(conn.request.headers.authorization).toBe(`Bearer ${TOKEN}`);

  const register = await conn.next('register');
  expect(register.server).toEqual({
    name: 'fixture-server',
    title: 'Fixture Server',
    version: '1.2.3',
    description: 'A fixture',
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: expect.objectContaining({ tools: expect.any(Object), prompts: expect.any(Object), resources: expect.any(Object) }),
    instructions: 'A test fixture: echo, progress, sample, crash.',
    serverInfo: { name: 'fixture-server', title: 'Fixture Server', version: '1.2.3' },
    protocol: 'stdio',
  });
  expect(JSON.stringify(register)).not.toMatch(/hunter2|stdio-mcp-server|node/);

  // The first frame after register is the answer to our call: the handshake's answer never crossed.
  const answer = await conn.call(1, 'tools/call', { name: 'echo', arguments: { text: 'after register' } });
  expect(text(answer)).toBe('after register');
  expect(conn.frames.all.map((f) => f.type)).toEqual(['register', 'response']);

  await cli.waitForLog(/registered as "fixture-server"/);
  // Debug traffic is on, yet neither the token nor the command line's secret is printed.
  expect(cli.stderr).toContain('-> gateway {"type":"register"');
  expect(cli.stderr).not.toContain(TOKEN);
  expect(cli.stderr).not.toContain('hunter2');
});

test('asks for a resumable session by default; --no-resume does not', async () => {
  startCli(['--name', 'resumable']);
  const conn = await gw.nextConnection();
  expect(await conn.next('register')).toMatchObject({ resumable: true, server: { name: 'resumable' } });
  startCli(['--name', 'plain', '--no-resume', '--resume-buffer', '4096']);
  const plain = await gw.nextConnection();
  expect(Object.keys(await plain.next('register'))).toEqual(['type', 'server', 'tokenRefresh']);
});

test('relays calls, progress notifications and prompts/resources, keeping the gateway ids', async () => {
  startCli(['--name', 'relay-test']);
  const conn = await gw.nextConnection();
  expect((await conn.next('register')).server.name).toBe('relay-test');

  const progress = await conn.call('gw-7', 'tools/call', { name: 'progress', arguments: { steps: 3 }, _meta: { progressToken: 'tok-1' } });
  expect(progress).toEqual({ jsonrpc: '2.0', id: 'gw-7', result: { content: [{ type: 'text', text: 'done 3' }] } });
  const notifications = conn.frames.all.filter((f) => f.type === 'notification');
  expect(notifications.map((f) => [f.payload.method, f.payload.params.progressToken, f.payload.params.progress])).toEqual([
    ['notifications/progress', 'tok-1', 1],
    ['notifications/progress', 'tok-1', 2],
    ['notifications/progress', 'tok-1', 3],
  ]);

  const prompt = await conn.call(8, 'prompts/get', { name: 'greet', arguments: { name: 'Ada' } });
  expect(prompt.result.messages[0].content.text).toBe('Hello, Ada!');
  const resource = await conn.call(9, 'resources/read', { uri: 'fixture://hello' });
  expect(resource.result.contents[0].text).toBe('hello from the fixture');
  const unknown = await conn.call(10, 'no/such/method');
  expect(unknown.error.code).toBe(-32601);
});

test('server-initiated requests go to the gateway and their answers come back (in a request or a response envelope)', async () => {
  startCli();
  const conn = await gw.nextConnection();
  await conn.next('register');

  for (const envelope of ['request', 'response'] as const) {
    const callId = `sample-${envelope}`;
    conn.deliver({ id: callId, method: 'tools/call', params: { name: 'sample', arguments: { prompt: 'ping?' } } });
    const ask = await conn.next((f) => f.type === 'request');
    expect(ask.payload).toMatchObject({ method: 'sampling/createMessage', params: { messages: [{ content: { text: 'ping?' } }] } });
    expect(ask.payload.id).toBeDefined();
    const reply = {
      jsonrpc: '2.0',
      id: ask.payload.id,
      result: { role: 'assistant', model: 'test', content: { type: 'text', text: `pong via ${envelope}` } },
    };
    conn.send({ type: envelope, sessionId: conn.sessionId, payload: reply });
    const done = await conn.next((f) => f.type === 'response' && f.payload.id === callId);
    expect(text(done.payload)).toBe(`sampled: pong via ${envelope}`);
  }
});

test('stdout lines that are not JSON go to the log, not the tunnel', async () => {
  const fixtureUrl = pathToFileURL(FIXTURE).href;
  const cli = startCli([], `node --input-type=module -e "console.log('hello, I am a banner'); await import('${fixtureUrl}')"`);
  const conn = await gw.nextConnection();
  await conn.next('register');
  await conn.call(1, 'tools/call', { name: 'echo', arguments: { text: 'x' } });
  await cli.waitForLog(/local server: hello, I am a banner/);
  expect(JSON.stringify(conn.frames.all)).not.toContain('banner');
});

test('the local server does not inherit the gateway token from the environment', async () => {
  const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.url], { REVERSE_PROXY_TOKEN: TOKEN });
  const conn = await gw.nextConnection();
  expect(conn.request.headers.authorization).toBe(`Bearer ${TOKEN}`);
  await conn.next('register');
  const answer = await conn.call(1, 'tools/call', { name: 'env', arguments: { name: 'REVERSE_PROXY_TOKEN' } });
  expect(text(answer)).toBe('(unset)');
  expect(cli.hasExited).toBe(false);
});

test("npx's settings for this client do not reach the local server (an npx in its command would run the wrong package)", async () => {
  const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.url], { npm_config_package: '.', npm_config_call: 'x' });
  const conn = await gw.nextConnection();
  await conn.next('register');
  const pkg = await conn.call(1, 'tools/call', { name: 'env', arguments: { name: 'npm_config_package' } });
  const call = await conn.call(2, 'tools/call', { name: 'env', arguments: { name: 'npm_config_call' } });
  expect([text(pkg), text(call)]).toEqual(['(unset)', '(unset)']);
  expect(cli.hasExited).toBe(false);
});

test('--request-timeout answers the caller with an error when the local server is too slow', async () => {
  startCli(['--request-timeout', '0.3']);
  const conn = await gw.nextConnection();
  await conn.next('register');
  // `sample` waits for a sampling answer that this test never gives.
  const answer = await conn.call('slow', 'tools/call', { name: 'sample', arguments: { prompt: 'never answered' } });
  expect(answer.error).toEqual({ code: -32001, message: 'The local server did not answer within 0.3 s' });
});

test('sends a heartbeat every keepalive interval', async () => {
  startCli(['--keepalive', '0.2']);
  const conn = await gw.nextConnection();
  await conn.next('register');
  await conn.next('heartbeat');
  await conn.next('heartbeat');
});

test('does not answer gateway heartbeats with heartbeats', async () => {
  startCli();
  const conn = await gw.nextConnection();
  await conn.next('register');
  for (let i = 0; i < 5; i++) conn.send({ type: 'heartbeat', sessionId: conn.sessionId, timestamp: new Date().toISOString() });
  // Frames on one socket stay in order: once this answer is here, any echo would have been too.
  await conn.call('after-heartbeats', 'tools/call', { name: 'echo', arguments: { text: 'x' } });
  expect(conn.frames.all.filter((f) => f.type === 'heartbeat')).toEqual([]);
});

test.each(['SIGTERM', 'SIGINT'] as const)('%s: unregister, exit 0, no child process left', async (signal) => {
  const cli = startCli();
  const conn = await gw.nextConnection();
  await conn.next('register');
  await cli.waitForLog(/registered as/);
  const [pid] = cli.serverPids;
  expect(isAlive(pid)).toBe(true);

  cli.kill(signal);
  await conn.next('unregister');
  expect((await cli.waitForExit()).code).toBe(0);
  await waitUntil(() => !isAlive(pid), `local server ${pid} is gone`);
  expect((await conn.closed).code).toBe(1000);
});

describe('config file', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-e2e-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('runs one tunnel per listed server; the environment supplies the token', async () => {
    const file = join(dir, 'tunnels.yaml');
    writeFileSync(
      file,
      [
        `gateway: ${gw.url}`,
        'keepalive: 30',
        'servers:',
        `  - name: first`,
        `    command: ${JSON.stringify(FIXTURE_COMMAND)}`,
        `  - command: node`,
        `    args: [${JSON.stringify(FIXTURE)}, --name, second-from-serverinfo]`,
        `    env: { FIXTURE_SETTING: from-config }`,
      ].join('\n'),
    );
    const cli = new CliProcess(['--config', file], { REVERSE_PROXY_TOKEN: TOKEN });
    const conns = [await gw.nextConnection(), await gw.nextConnection()];
    const names = await Promise.all(conns.map(async (c) => (await c.next('register')).server.name as string));
    expect(names.sort()).toEqual(['first', 'second-from-serverinfo']);
    expect(conns.map((c) => c.request.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    const settings = await Promise.all(
      conns.map(async (c) => text(await c.call('env', 'tools/call', { name: 'env', arguments: { name: 'FIXTURE_SETTING' } }))),
    );
    expect(settings.sort()).toEqual(['(unset)', 'from-config']);

    await waitUntil(() => cli.serverPids.length === 2, 'both servers started');
    const pids = cli.serverPids;
    cli.kill('SIGTERM');
    await Promise.all(conns.map((c) => c.next('unregister')));
    expect((await cli.waitForExit()).code).toBe(0);
    await waitUntil(() => pids.every((pid) => !isAlive(pid)), 'both local servers are gone');
  });
});
