import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { createTestServer, type TestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';

let gw: RunningGateway;
let tunnelled: TunnelledServer;
let testServer: TestServer;
let token: string;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('alice@example.com');
  testServer = createTestServer({ name: 'fixture' });
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'basic', testServer.server);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await tunnelled.close();
  await gw.close();
});

async function client(): Promise<Client> {
  const { client } = await connectStreamable(gw.httpUrl, 'basic', token);
  clients.push(client);
  return client;
}

test('initialize is answered from the registration, and the server never sees a second one', async () => {
  const c = await client();
  expect(c.getServerVersion()).toMatchObject({ name: 'fixture', version: '1.0.0', title: 'Test Server' });
  expect(c.getServerCapabilities()).toMatchObject({ tools: {}, resources: { subscribe: true }, prompts: {}, logging: {} });
  expect(c.getInstructions()).toBe('A server for the MCP door tests.');
  await c.ping();
  const initializes = tunnelled.received.filter((m) => 'method' in m && m.method === 'initialize');
  const initialized = tunnelled.received.filter((m) => 'method' in m && m.method === 'notifications/initialized');
  expect(initializes).toHaveLength(1);
  expect(initialized).toHaveLength(1);
});

test('tools, resources and prompts work through the tunnel', async () => {
  const c = await client();
  const tools = await c.listTools();
  expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'progress', 'hold', 'sample']));
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'hi there' } }))).toBe('hi there');
  const resource = await c.readResource({ uri: 'fixture://hello' });
  expect(resource.contents[0]).toMatchObject({ uri: 'fixture://hello', text: 'hello from the fixture' });
  const prompt = await c.getPrompt({ name: 'greet', arguments: { who: 'Bob' } });
  expect(prompt.messages[0].content).toEqual({ type: 'text', text: 'Hello, Bob!' });
});

test("progress reaches only its caller, with the caller's own token", async () => {
  const caller = await client();
  const other = await client();
  const otherSaw: string[] = [];
  other.fallbackNotificationHandler = async (n) => {
    otherSaw.push(n.method);
  };
  const listChanged = new Promise<void>((resolve) =>
    other.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve()),
  );
  const steps: number[] = [];
  const result = await caller.callTool({ name: 'progress', arguments: { steps: 5 } }, undefined, {
    onprogress: (p) => steps.push(p.progress),
  });
  expect(textOf(result)).toBe('done 5');
  expect(steps).toEqual([1, 2, 3, 4, 5]);
  // The server's tokens were the gateway's, never the client's.
  const calls = tunnelled.received.filter((m) => 'method' in m && m.method === 'tools/call' && (m.params as any)?.name === 'progress');
  expect((calls.at(-1) as any).params._meta.progressToken).toMatch(/^gw-\d+$/);
  // A broadcast sent after the progress reaches `other` after anything the gateway sent it before.
  await caller.callTool({ name: 'announce', arguments: {} });
  await listChanged;
  expect(otherSaw).not.toContain('notifications/progress');
});

test('two clients using identical request ids get their own answers, many rounds', async () => {
  const a = await client();
  const b = await client();
  for (let round = 0; round < 20; round++) {
    const calls = [];
    for (let i = 0; i < 5; i++) {
      calls.push(a.callTool({ name: 'echo', arguments: { text: `a-${round}-${i}` } }).then(textOf));
      calls.push(b.callTool({ name: 'echo', arguments: { text: `b-${round}-${i}` } }).then(textOf));
    }
    const answers = await Promise.all(calls);
    const expected = [];
    for (let i = 0; i < 5; i++) expected.push(`a-${round}-${i}`, `b-${round}-${i}`);
    expect(answers).toEqual(expected);
  }
  // Both SDK clients number their requests from 0, so the ids they chose collided throughout.
  const ids = tunnelled.received.filter((m) => 'method' in m && m.method === 'tools/call' && 'id' in m).map((m) => (m as any).id);
  expect(new Set(ids).size).toBe(ids.length);
});

test('a sampling request reaches the calling client and its answer returns to the server', async () => {
  const { client: bystander } = await connectStreamable(gw.httpUrl, 'basic', token, { sampling: {} });
  clients.push(bystander);
  const bystanderAsked: string[] = [];
  bystander.setRequestHandler(CreateMessageRequestSchema, async () => {
    bystanderAsked.push('asked');
    return { role: 'assistant', content: { type: 'text', text: 'from the bystander' }, model: 'b' };
  });
  const { client: caller } = await connectStreamable(gw.httpUrl, 'basic', token, { sampling: {} });
  clients.push(caller);
  caller.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const text = (request.params.messages[0].content as { text: string }).text;
    return { role: 'assistant', content: { type: 'text', text: `caller saw "${text}"` }, model: 'test' };
  });
  // The bystander, able to sample too, has a call of its own in flight meanwhile.
  const bystanderCall = bystander.callTool({ name: 'hold', arguments: {} });
  const held = await testServer.nextHeld();
  const result = await caller.callTool({ name: 'sample', arguments: { prompt: 'ping?' } });
  expect(textOf(result)).toBe('sampled: caller saw "ping?"');
  expect(bystanderAsked).toEqual([]);
  held.release('released');
  expect(textOf(await bystanderCall)).toBe('released');
});

test('a server request no client can take gets a JSON-RPC error, not silence', async () => {
  const c = await client(); // declares no roots capability
  const result = await c.callTool({ name: 'roots', arguments: {} });
  expect(result.isError).toBe(true);
  expect(textOf(result)).toMatch(/roots failed: .*roots\/list/);
});

test('list_changed and logging go to every session; resources/updated only to subscribers', async () => {
  const subscriber = await client();
  const bystander = await client();
  const seen = { subscriber: [] as string[], bystander: [] as string[] };
  for (const [who, c] of [
    ['subscriber', subscriber],
    ['bystander', bystander],
  ] as const) {
    c.fallbackNotificationHandler = async (n) => {
      seen[who].push(n.method);
    };
  }
  const bystanderLog = new Promise<void>((resolve) =>
    bystander.setNotificationHandler(LoggingMessageNotificationSchema, async () => resolve()),
  );
  const updated = new Promise<string>((resolve) =>
    subscriber.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => resolve(n.params.uri)),
  );
  await subscriber.subscribeResource({ uri: 'fixture://hello' });
  await subscriber.callTool({ name: 'touch', arguments: { uri: 'fixture://hello' } });
  expect(await updated).toBe('fixture://hello');
  await subscriber.callTool({ name: 'announce', arguments: {} });
  await bystanderLog;
  expect(seen.bystander).toContain('notifications/tools/list_changed');
  expect(seen.bystander).not.toContain('notifications/resources/updated');
  await subscriber.unsubscribeResource({ uri: 'fixture://hello' });
});

test('the catalog lists the server with its URL and, once listed, its tool count', async () => {
  const c = await client();
  const tools = await c.listTools();
  const res = await fetch(`${gw.httpUrl}/servers`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.servers).toEqual([
    expect.objectContaining({
      name: 'basic',
      title: 'Test Server',
      owner: 'alice@example.com',
      tools_count: tools.tools.length,
      url: `${gw.httpUrl}/servers/basic/mcp`,
      sse_url: `${gw.httpUrl}/servers/basic/sse`,
    }),
  ]);
});
