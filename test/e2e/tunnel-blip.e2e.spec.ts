/**
 * No call lost across a network blip: the real CLI with a real stdio server behind it reaches the
 * gateway through a TCP forwarder that cuts every socket abruptly (no close frame) and lets nothing
 * through for 2 s. 200 tool calls are in flight at the cut, from REST and MCP callers together: all
 * complete, each executed exactly once (the server records every execution), and the tunnel keeps
 * its session id.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, FIXTURE_COMMAND, killAll } from '../client/helpers/cli-process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { textOf } from '../support/mcp-clients.js';
import { RoundRobinForwarder } from '../support/round-robin-forwarder.js';
import { eventually } from '../support/wait.js';

const NAME = 'blippy';
const CALLS_PER_DOOR = 100;
/** Long enough that every call is still running at the server when the connection is cut. */
const CALL_MS = 1500;
const CUT_FOR_MS = 2000;

let gw: RunningGateway;
let ingress: RoundRobinForwarder;
let dir: string;

beforeAll(async () => {
  gw = await startGateway({ TUNNEL_RESUME_GRACE_MS: '15000', REQUEST_TIMEOUT_MS: '30000' });
  ingress = await RoundRobinForwarder.start([gw.port]);
  dir = mkdtempSync(join(tmpdir(), 'blip-'));
});

afterAll(async () => {
  await killAll();
  await ingress?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sessionIds = (cli: CliProcess) => [...cli.stderr.matchAll(/connected as session ([0-9a-f]+)/g)].map((m) => m[1]);

test('200 calls in flight across a 2 s cut: every one answered, each executed once, same session', async () => {
  const countFile = join(dir, 'executions.txt');
  const token = gw.mintToken('alice');
  const cli = new CliProcess(
    ['--local-stdio', FIXTURE_COMMAND, '--gateway', `ws://127.0.0.1:${ingress.port}/reverse-proxy/ws`, '--token', token, '--name', NAME],
    { FIXTURE_COUNT_FILE: countFile },
  );
  await cli.waitForLog(new RegExp(`registered as "${NAME}"`));
  const [sessionId] = sessionIds(cli);

  const transport = new StreamableHTTPClientTransport(new URL(`${gw.httpUrl}/servers/${NAME}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const mcp = new Client({ name: 'blip-test', version: '1.0.0' });
  await mcp.connect(transport);

  const keys: string[] = [];
  const calls: Promise<string>[] = [];
  for (let i = 0; i < CALLS_PER_DOOR; i++) {
    const restKey = `rest-${i}`;
    const mcpKey = `mcp-${i}`;
    keys.push(restKey, mcpKey);
    calls.push(
      http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
        token,
        body: { jsonrpc: '2.0', id: restKey, method: 'tools/call', params: { name: 'counted', arguments: { key: restKey, ms: CALL_MS } } },
      }).then((res) => (res.status === 200 ? textOf(res.body.result) : `HTTP ${res.status}: ${res.text}`)),
    );
    calls.push(
      mcp
        .callTool({ name: 'counted', arguments: { key: mcpKey, ms: CALL_MS } }, undefined, { timeout: 30_000 })
        .then(textOf, (err: unknown) => `MCP error: ${(err as Error).message}`),
    );
  }
  // Every call is in flight down the tunnel before the cut (and has had time to reach the server);
  // 200 calls through two doors can take a while to get there on a loaded machine.
  await eventually(
    async () => {
      const info = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token });
      return info.body.pending_requests === 2 * CALLS_PER_DOOR;
    },
    'all calls in flight',
    20_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));

  ingress.remove(gw.port);
  ingress.disconnectAll();
  await new Promise((resolve) => setTimeout(resolve, CUT_FOR_MS));
  ingress.add(gw.port);

  const answers = await Promise.all(calls);
  expect(answers).toEqual(keys);
  const executions = readFileSync(countFile, 'utf8').trim().split('\n');
  expect(executions.sort()).toEqual([...keys].sort());
  // Resumed, not registered afresh: one session id throughout.
  await cli.waitForLog(/tunnel resumed/);
  expect(new Set(sessionIds(cli))).toEqual(new Set([sessionId]));
  await mcp.close();
});

test('a cut longer than the grace period: callers hear "tunnel lost" near the deadline, nothing hangs, the client registers afresh', async () => {
  const short = await startGateway({ TUNNEL_RESUME_GRACE_MS: '1000' });
  const gate = await RoundRobinForwarder.start([short.port]);
  try {
    const token = short.mintToken('alice');
    const cli = new CliProcess([
      '--local-stdio',
      FIXTURE_COMMAND,
      '--gateway',
      `ws://127.0.0.1:${gate.port}/reverse-proxy/ws`,
      '--token',
      token,
      '--name',
      'brief',
    ]);
    await cli.waitForLog(/registered as "brief"/);
    const [first] = sessionIds(cli);
    const waiting = http('POST', `${short.httpUrl}/reverse-proxy/sessions/${first}/request`, {
      token,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'counted', arguments: { key: 'late', ms: 5000 } } },
    });
    await eventually(async () => {
      const info = await http('GET', `${short.httpUrl}/reverse-proxy/sessions/${first}`, { token });
      return info.body.pending_requests === 1;
    }, 'the call in flight');
    const cutAt = Date.now();
    gate.remove(short.port);
    gate.disconnectAll();
    const answer = await waiting;
    const heardAfter = Date.now() - cutAt;
    expect(answer.status).toBe(502);
    expect(answer.body.message).toBe('The tunnel closed (tunnel lost: no reconnect within 1 s)');
    // Near the deadline: not at once, and not at the call's own timeout.
    expect(heardAfter).toBeGreaterThanOrEqual(900);
    expect(heardAfter).toBeLessThan(4000);
    gate.add(short.port);
    await cli.waitForLog(/resume refused, registering afresh/, 15_000);
    await eventually(() => sessionIds(cli).length === 2, 'a new session', 15_000);
    const second = sessionIds(cli)[1];
    expect(second).not.toBe(first);
    const echo = await http('POST', `${short.httpUrl}/reverse-proxy/sessions/${second}/request`, {
      token,
      body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'fresh' } } },
    });
    expect(echo.status).toBe(200);
  } finally {
    await killAll();
    await gate.close();
    await short.close();
  }
});
