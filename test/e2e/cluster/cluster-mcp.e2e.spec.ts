import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { RunningGateway } from '../../support/gateway.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { createTestServer, type TestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';
import { textOf } from '../../support/mcp-clients.js';
import { SseStream } from '../../support/sse.js';
import { eventually } from '../../support/wait.js';

// Three replicas on one Redis; the tunnel is held by A. An SDK client whose every HTTP request goes to
// the next replica in turn (B, C, D... as an ingress without stickiness would send them) uses the server
// as if there were one gateway: initialize on one replica, the next POST on another, its GET stream on a third.
let redis: PrivateRedis;
let replicas: RunningGateway[];
let tunnelled: TunnelledServer;
let testServer: TestServer;
let token: string;

beforeAll(async () => {
  redis = await startRedis();
  replicas = [];
  for (const id of ['mcp-a', 'mcp-b', 'mcp-c']) replicas.push(await startReplica(redis.url, id));
  token = replicas[0].mintToken('alice');
  testServer = createTestServer({ name: 'cluster-fixture' });
  tunnelled = await serveThroughTunnel(replicas[0].tunnelUrl, token, 'spread', testServer.server);
  for (const gateway of replicas.slice(1)) {
    await eventually(
      async () =>
        (await fetch(`${gateway.httpUrl}/servers`, { headers: { Authorization: `Bearer ${token}` } }))
          .text()
          .then((t) => t.includes('spread')),
      'every replica lists it',
    );
  }
});

afterAll(async () => {
  await tunnelled?.close();
  await Promise.all(replicas.map((r) => r.close()));
  await redis?.stop();
});

/** A fetch that sends each request to the next replica in turn, starting with B; records which served what. */
function roundRobin(start = 1): { fetch: typeof fetch; served: string[] } {
  let next = start;
  const served: string[] = [];
  const spread: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const replica = replicas[next++ % replicas.length];
    url.port = String(replica.port);
    served.push(`${init?.method ?? 'GET'} ${replica.config.cluster?.replicaId}`);
    return fetch(url, init);
  };
  return { fetch: spread, served };
}

async function spreadClient(capabilities = {}): Promise<{ client: Client; served: string[] }> {
  const { fetch: spread, served } = roundRobin();
  const transport = new StreamableHTTPClientTransport(new URL(`${replicas[1].httpUrl}/servers/spread/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: spread,
  });
  const client = new Client({ name: 'spread-client', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, served };
}

test('a session opened on one replica serves calls that land on the others', async () => {
  const { client, served } = await spreadClient();
  expect(client.getServerVersion()?.name).toBe('cluster-fixture');
  expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
  for (let i = 0; i < 4; i++) expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `hi ${i}` } }))).toBe(`hi ${i}`);
  // The requests really went to every replica.
  expect(new Set(served.map((s) => s.split(' ')[1]))).toEqual(new Set(['mcp-a', 'mcp-b', 'mcp-c']));
  await client.close();
});

test('progress and sampling reach the client whatever replica its call entered', async () => {
  const { client } = await spreadClient({ sampling: {}, roots: {} });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'from afar' },
    model: 'm',
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///spread' }] }));
  const steps: number[] = [];
  const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
    onprogress: (p) => steps.push(p.progress),
  });
  expect(textOf(result)).toBe('done 3');
  expect(steps).toEqual([1, 2, 3]);
  expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'q' } }))).toBe('sampled: from afar');
  expect(textOf(await client.callTool({ name: 'roots', arguments: {} }))).toBe('file:///spread');
  await client.close();
});

test('cancelling a call that entered another replica cancels it at the server', async () => {
  const { client } = await spreadClient();
  const abort = new AbortController();
  const call = client.callTool({ name: 'hold', arguments: {} }, undefined, { signal: abort.signal }).catch((err: unknown) => err);
  const held = await testServer.nextHeld();
  abort.abort('changed my mind');
  await held.aborted;
  expect(await call).toBeInstanceOf(Error);
  await client.close();
});

test('notifications reach the GET stream, and subscriptions hold, whichever replica the stream entered', async () => {
  const { client } = await spreadClient();
  const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve()));
  const updated = new Promise<string>((resolve) =>
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => resolve(n.params.uri)),
  );
  await client.subscribeResource({ uri: 'fixture://hello' });
  // Give the client's GET stream time to open (it is opened after initialize, on whichever replica is next).
  await new Promise((resolve) => setTimeout(resolve, 200));
  await client.callTool({ name: 'announce', arguments: {} });
  await changed;
  await client.callTool({ name: 'touch', arguments: { uri: 'fixture://hello' } });
  expect(await updated).toBe('fixture://hello');
  await client.close();
});

test('ending a session through one replica ends it on all', async () => {
  const { fetch: spread } = roundRobin();
  const transport = new StreamableHTTPClientTransport(new URL(`${replicas[1].httpUrl}/servers/spread/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: spread,
  });
  const client = new Client({ name: 'ending', version: '1.0.0' });
  await client.connect(transport);
  const sessionId = transport.sessionId!;
  await transport.terminateSession();
  for (const replica of replicas) {
    const res = await fetch(`${replica.httpUrl}/servers/spread/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
        'MCP-Protocol-Version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  }
  await client.close();
});

test("another user is refused on every replica, before the request reaches the tunnel's replica door", async () => {
  for (const replica of replicas) {
    const res = await fetch(`${replica.httpUrl}/servers/spread/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${replica.mintToken('mallory')}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  }
});

test('a legacy SSE session whose stream is on B takes messages that enter C, with sampling and progress', async () => {
  // The stream goes to B; every POST to the next replica after it, so messages enter C and A.
  let next = 2;
  const spread: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.port = String(init?.method === 'POST' ? replicas[next++ % replicas.length].port : replicas[1].port);
    return fetch(url, init);
  };
  const transport = new SSEClientTransport(new URL(`${replicas[1].httpUrl}/servers/spread/sse`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: spread,
  });
  const client = new Client({ name: 'legacy-spread', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'legacy far' },
    model: 'm',
  }));
  await client.connect(transport);
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'old' } }))).toBe('old');
  expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'q' } }))).toBe('sampled: legacy far');
  // Watched on the transport: the SDK client drops progress that arrives in the same chunk as the result.
  const steps: unknown[] = [];
  const deliver = transport.onmessage!;
  transport.onmessage = (message) => {
    if ('method' in message && message.method === 'notifications/progress') steps.push((message.params as { progress: number }).progress);
    deliver(message);
  };
  await client.callTool({ name: 'progress', arguments: { steps: 2 } }, undefined, { onprogress: () => undefined });
  expect(steps).toEqual([1, 2]);
  await client.close();
});

test('a legacy message naming a replica that is not in the cluster is a 404, not a wait', async () => {
  const res = await fetch(`${replicas[2].httpUrl}/servers/spread/messages?replica=gone-1&sessionId=x`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(res.status).toBe(404);
});

test('a POST stream cut mid-call on B is resumed with Last-Event-ID through C', async () => {
  const { client, transport } = await (async () => {
    const t = new StreamableHTTPClientTransport(new URL(`${replicas[1].httpUrl}/servers/spread/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const c = new Client({ name: 'resumer', version: '1.0.0' });
    await c.connect(t);
    return { client: c, transport: t };
  })();
  const headers = {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': transport.sessionId!,
    'MCP-Protocol-Version': '2025-11-25',
  };
  const cut = new AbortController();
  const post = await fetch(`${replicas[1].httpUrl}/servers/spread/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: 'hold', arguments: {} } }),
    signal: cut.signal,
  });
  const priming = await SseStream.from(post).next((e) => e.id !== undefined);
  cut.abort();
  const held = await testServer.nextHeld();
  // Until the replica holding the session has noticed the cut, the stream counts as connected (409).
  let resumed: Response | undefined;
  for (let attempt = 0; attempt < 100 && !resumed; attempt++) {
    const res = await fetch(`${replicas[2].httpUrl}/servers/spread/mcp`, {
      headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': priming.id! },
    });
    if (res.status === 409) {
      await res.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    expect(res.status).toBe(200);
    resumed = res;
  }
  held.release('after the cut');
  const stream = SseStream.from(resumed!);
  const event = await stream.next((e) => e.data.includes('"r1"'));
  await stream.close();
  expect(JSON.parse(event.data)).toMatchObject({ id: 'r1', result: { content: [{ type: 'text', text: 'after the cut' }] } });
  await client.close();
});
