import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RunningGateway } from '../../support/gateway.js';
import { textOf } from '../../support/mcp-clients.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { createTestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';
import { eventually } from '../../support/wait.js';

// An MCP session outlives the replica that held it: when its server's tunnel moves to another
// replica, that replica adopts the session (what it negotiated and subscribed to is in Redis), and
// the client carries on with the same session id.
let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
const tunnels: TunnelledServer[] = [];

beforeAll(async () => {
  redis = await startRedis();
  a = await startReplica(redis.url, 'adopt-a');
  b = await startReplica(redis.url, 'adopt-b');
});

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await Promise.all([a?.close().catch(() => undefined), b?.close()]);
  await redis?.stop();
});

async function servedOn(gateway: RunningGateway, token: string): Promise<void> {
  tunnels.push(await serveThroughTunnel(gateway.tunnelUrl, token, 'moving', createTestServer({ name: 'moving-fixture' }).server));
  for (const replica of [a, b]) {
    await eventually(async () => {
      const listed = await fetch(`${replica.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
      const body = (await listed.json()) as { sessions: { name: string; session_id: string }[] };
      return (
        body.sessions.some((s) => s.name === 'moving' && s.session_id === tunnels.at(-1)!.sessionId) &&
        body.sessions.filter((s) => s.name === 'moving').length === 1
      );
    }, 'the new tunnel listed alone');
  }
}

test('the session carries on, with its subscriptions, after its tunnel moved and its replica stopped', async () => {
  const token = a.mintToken('alice');
  await servedOn(a, token);
  // Requests go to B and A in turn; B relays what it gets to the replica holding the tunnel.
  let next = 0;
  const transport = new StreamableHTTPClientTransport(new URL(`${b.httpUrl}/servers/moving/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 20 },
    fetch: (input, init) => {
      const url = new URL(String(input));
      url.port = String(next++ % 2 === 0 || a === undefined ? b.port : a.port);
      return fetch(url, init).catch(() => {
        // A stopped: the ingress would send the request to B.
        url.port = String(b.port);
        return fetch(url, init);
      });
    },
  });
  const client = new Client({ name: 'mover', version: '1.0.0' });
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => void updates.push(n.params.uri));
  await client.connect(transport);
  const sessionId = transport.sessionId;
  await client.subscribeResource({ uri: 'fixture://hello' });
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'on A' } }))).toBe('on A');

  // The tunnel moves to B (its client reconnected there); then A stops altogether.
  await tunnels[0].close();
  await servedOn(b, token);
  await a.close();
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'on B' } }))).toBe('on B');
  expect(transport.sessionId).toBe(sessionId);
  // B took the subscription over: the new server was subscribed, and its update reaches the client
  // on a stream B opened when the client's GET stream came back.
  await tunnels[1].waitFor((m) => 'method' in m && m.method === 'resources/subscribe');
  await eventually(async () => {
    await client.callTool({ name: 'touch', arguments: { uri: 'fixture://hello' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return updates.length > 0;
  }, 'resources/updated after the move');
  expect(updates).toContain('fixture://hello');
  await client.close();
});

test("another user's request never reaches someone's session, and an ended session is not adopted", async () => {
  const token = b.mintToken('bob');
  tunnels.push(await serveThroughTunnel(b.tunnelUrl, token, 'bobs', createTestServer().server));
  const transport = new StreamableHTTPClientTransport(new URL(`${b.httpUrl}/servers/bobs/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'bob', version: '1.0.0' });
  await client.connect(transport);
  const headers = (user: string) => ({
    Authorization: `Bearer ${b.mintToken(user)}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': transport.sessionId!,
    'MCP-Protocol-Version': '2025-11-25',
  });
  const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  // Another user's id is as unknown as a made-up one, here and for adoption alike.
  expect((await fetch(`${b.httpUrl}/servers/bobs/mcp`, { method: 'POST', headers: headers('mallory'), body: list })).status).toBe(404);
  expect((await fetch(`${b.httpUrl}/servers/bobs/mcp`, { method: 'POST', headers: headers('bob'), body: list })).status).toBe(200);
  await transport.terminateSession();
  expect((await fetch(`${b.httpUrl}/servers/bobs/mcp`, { method: 'POST', headers: headers('bob'), body: list })).status).toBe(404);
  await client.close();
});
