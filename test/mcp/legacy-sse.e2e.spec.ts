import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectLegacySse, textOf } from '../support/mcp-clients.js';
import { createTestServer, type TestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';

let gw: RunningGateway;
let token: string;
let test_: TestServer;
let tunnelled: TunnelledServer;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('carol@example.com');
  test_ = createTestServer({ name: 'legacy-fixture' });
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'legacy', test_.server);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await tunnelled.close();
  await gw.close();
});

async function client(capabilities = {}): Promise<Client> {
  const { client } = await connectLegacySse(gw.httpUrl, 'legacy', token, capabilities);
  clients.push(client);
  return client;
}

test('an old HTTP+SSE client lists and calls tools, reads resources and gets progress', async () => {
  const { client: c, transport } = await connectLegacySse(gw.httpUrl, 'legacy', token);
  clients.push(c);
  // Watched on the transport: the SDK client drops progress that arrives in the same chunk as the
  // result (its progress handler runs a microtask after the result removed it).
  const progress: unknown[] = [];
  const deliver = transport.onmessage!;
  transport.onmessage = (message) => {
    if ('method' in message && message.method === 'notifications/progress') progress.push(message.params);
    deliver(message);
  };
  expect(c.getServerVersion()?.name).toBe('legacy-fixture');
  expect((await c.listTools()).tools.map((t) => t.name)).toContain('echo');
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'old school' } }))).toBe('old school');
  expect((await c.readResource({ uri: 'fixture://hello' })).contents[0]).toMatchObject({ text: 'hello from the fixture' });
  await c.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, { onprogress: () => undefined });
  // The client's token is the request id it chose; the server was given the gateway's instead.
  const sent = tunnelled.received.filter((m) => 'method' in m && m.method === 'tools/call' && (m as any).params?.name === 'progress');
  expect((sent.at(-1) as any).params._meta.progressToken).toMatch(/^gw-\d+$/);
  expect(progress).toEqual([1, 2, 3].map((step) => expect.objectContaining({ progress: step, progressToken: expect.any(Number) })));
});

test('sampling reaches the legacy client that made the call', async () => {
  const c = await client({ sampling: {} });
  c.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'legacy answer' },
    model: 'm',
  }));
  expect(textOf(await c.callTool({ name: 'sample', arguments: { prompt: 'q' } }))).toBe('sampled: legacy answer');
});

test('closing the SSE stream mid-call cancels the call at the server', async () => {
  const { client: c } = await connectLegacySse(gw.httpUrl, 'legacy', token);
  const call = c.callTool({ name: 'hold', arguments: {} }).catch((err: unknown) => err);
  const held = await test_.nextHeld();
  const calls = tunnelled.received.filter((m) => 'method' in m && m.method === 'tools/call' && (m as any).params?.name === 'hold');
  const serverId = (calls.at(-1) as any).id;
  await c.close();
  await tunnelled.waitFor(
    (m: JSONRPCMessage) => 'method' in m && m.method === 'notifications/cancelled' && (m as any).params?.requestId === serverId,
  );
  await held.aborted;
  await call;
});

test('the stream is marked unbuffered for proxies and announces the message endpoint', async () => {
  const abort = new AbortController();
  const res = await fetch(`${gw.httpUrl}/servers/legacy/sse`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-accel-buffering')).toBe('no');
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toMatch(/^event: endpoint\ndata: \/servers\/legacy\/messages\?sessionId=[0-9a-f-]+\n\n/);
  abort.abort();
  await reader.cancel().catch(() => undefined);
});
