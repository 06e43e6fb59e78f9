/**
 * The whole trip with a server we did not write: `@modelcontextprotocol/server-everything` (a
 * devDependency, run from node_modules in stdio mode, no network) behind the real tunnel client
 * CLI (dist/client/cli.js, built by `pretest`) and the real gateway, used by SDK clients over
 * Streamable HTTP and legacy SSE, and through POST /reverse-proxy/sessions/:id/request.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { CliProcess, isAlive, killAll, waitUntil } from '../client/helpers/cli-process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectLegacySse, connectStreamable, textOf } from '../support/mcp-clients.js';

/** server-everything's `bin` (dist/index.js); its first argument picks the transport. */
const requireFromRoot = createRequire(resolve(process.cwd(), 'package.json'));
const EVERYTHING_ENTRY = join(dirname(requireFromRoot.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');
const EVERYTHING_COMMAND = `"${process.execPath}" "${EVERYTHING_ENTRY}" stdio`;

interface SessionInfo {
  session_id: string;
  name: string;
  state: string;
}

let gw: RunningGateway;
let token: string;
let cli: CliProcess;
let sessionId: string;
const clients: Client[] = [];

async function listSessions(): Promise<SessionInfo[]> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: SessionInfo[] }).sessions;
}

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('erin@example.com');
  cli = new CliProcess(['--local-stdio', EVERYTHING_COMMAND, '--gateway', gw.wsUrl, '--token', token, '--name', 'everything']);
  await cli.waitForLog(/registered as "everything"/, 20_000);
  let listed: SessionInfo | undefined;
  const deadline = Date.now() + 10_000;
  while (!(listed = (await listSessions()).find((s) => s.name === 'everything' && s.state === 'ready'))) {
    if (Date.now() > deadline) throw new Error(`the session was not listed as ready\n--- CLI stderr ---\n${cli.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  sessionId = listed.session_id;
}, 30_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await killAll(); // a CLI the last test did not stop, and its server, by force
  await gw?.close();
});

test('Streamable HTTP: tools, echo, progress, a resource and a prompt of server-everything', async () => {
  const { client } = await connectStreamable(gw.httpUrl, 'everything', token);
  clients.push(client);
  expect(client.getServerVersion()).toMatchObject({ name: 'mcp-servers/everything' });

  const tools = (await client.listTools()).tools.map((t) => t.name);
  expect(tools).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation']));

  expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'through the tunnel' } }))).toBe('Echo: through the tunnel');

  const progress: { progress: number; total?: number }[] = [];
  const done = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
    onprogress: (p) => progress.push({ progress: p.progress, total: p.total }),
  });
  expect(textOf(done)).toMatch(/Long running operation completed/);
  expect(progress).toEqual([
    { progress: 1, total: 3 },
    { progress: 2, total: 3 },
    { progress: 3, total: 3 },
  ]);

  const resource = await client.readResource({ uri: 'demo://resource/dynamic/text/1' });
  expect(resource.contents[0]).toMatchObject({ uri: 'demo://resource/dynamic/text/1', mimeType: 'text/plain' });
  expect((resource.contents[0] as { text: string }).text).toMatch(/^Resource 1: This is a plaintext resource/);

  const prompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon' } });
  expect(prompt.messages[0]).toEqual({ role: 'user', content: { type: 'text', text: "What's weather in Lisbon?" } });
});

test('legacy HTTP+SSE: tools/list', async () => {
  const { client } = await connectLegacySse(gw.httpUrl, 'everything', token);
  clients.push(client);
  expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
});

test("POST /reverse-proxy/sessions/:id/request: a tools/call answered with the caller's own id", async () => {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 2, b: 40 } } }),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { jsonrpc: string; id: number; result: unknown };
  expect(json).toMatchObject({ jsonrpc: '2.0', id: 7 });
  expect(textOf(json.result)).toBe('The sum of 2 and 40 is 42.');
});

test('SIGTERM stops the tunnel client and server-everything with it; the session leaves the list', async () => {
  const [serverPid] = cli.serverPids;
  expect(serverPid).toBeGreaterThan(0);
  cli.kill('SIGTERM');
  expect(await cli.waitForExit()).toEqual({ code: 0, signal: null });
  await waitUntil(() => !isAlive(serverPid), 'server-everything exited', 6000);
  const deadline = Date.now() + 5000;
  while ((await listSessions()).some((s) => s.session_id === sessionId)) {
    if (Date.now() > deadline) throw new Error('the session is still listed');
    await new Promise((r) => setTimeout(r, 50));
  }
});
