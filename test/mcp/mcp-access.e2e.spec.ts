import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { createTestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';

let gw: RunningGateway;
let alice: string;
let bob: string;
let admin: string;
const tunnels: TunnelledServer[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway({ AUTH_REQUIRED: 'false', MCP_ALLOWED_ORIGINS: 'https://inspector.example' });
  alice = gw.mintToken('alice@example.com');
  bob = gw.mintToken('bob@example.com');
  admin = gw.mintToken('root@example.com', { admin: true });
  tunnels.push(await serveThroughTunnel(gw.tunnelUrl, alice, 'alices', createTestServer().server));
  tunnels.push(await serveThroughTunnel(gw.tunnelUrl, undefined, 'shared', createTestServer().server));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(tunnels.map((t) => t.close()));
  await gw.close();
});

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

function post(name: string, headers: Record<string, string>, body = initialize): Promise<Response> {
  return fetch(`${gw.httpUrl}/servers/${name}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body,
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

test('another user cannot open a session on a server it does not own (403), nor use an unknown name (404)', async () => {
  expect((await post('alices', bearer(bob))).status).toBe(403);
  expect((await post('nobody-here', bearer(alice))).status).toBe(404);
});

test('an invalid token is refused (401)', async () => {
  expect((await post('alices', { Authorization: 'Bearer not-a-token' })).status).toBe(401);
});

test('owner and admin reach a server; anyone reaches an anonymous one', async () => {
  for (const token of [alice, admin]) {
    const { client } = await connectStreamable(gw.httpUrl, 'alices', token);
    clients.push(client);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok');
  }
  const { client } = await connectStreamable(gw.httpUrl, 'shared', bob);
  clients.push(client);
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'shared' } }))).toBe('shared');
});

test('a session id is bound to its creator: another user (even an admin) presenting it gets 404', async () => {
  const { client, transport } = await connectStreamable(gw.httpUrl, 'shared', alice);
  clients.push(client);
  const sessionId = transport.sessionId!;
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  const session = { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' };
  expect((await post('shared', { ...bearer(bob), ...session }, ping)).status).toBe(404);
  expect((await post('shared', { ...bearer(admin), ...session }, ping)).status).toBe(404);
  expect((await post('shared', session, ping)).status).toBe(404);
  const get = await fetch(`${gw.httpUrl}/servers/shared/mcp`, { headers: { ...bearer(bob), ...session, Accept: 'text/event-stream' } });
  expect(get.status).toBe(404);
  const del = await fetch(`${gw.httpUrl}/servers/shared/mcp`, { method: 'DELETE', headers: { ...bearer(bob), ...session } });
  expect(del.status).toBe(404);
  // The creator still can.
  expect((await post('shared', { ...bearer(alice), ...session }, ping)).status).toBe(200);
});

test('a non-initialize request without a session id gets 400', async () => {
  const res = await post('shared', {}, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
  expect(res.status).toBe(400);
  expect(((await res.json()) as any).error.message).toMatch(/Mcp-Session-Id/);
});

test('Origin is validated: foreign origins get 403, listed and same origins pass', async () => {
  expect((await post('shared', { Origin: 'https://evil.example' })).status).toBe(403);
  expect((await post('shared', { Origin: 'https://inspector.example' })).status).toBe(200);
  expect((await post('shared', { Origin: gw.httpUrl })).status).toBe(200);
  const sse = await fetch(`${gw.httpUrl}/servers/shared/sse`, { headers: { Origin: 'https://evil.example' } });
  expect(sse.status).toBe(403);
});

test('the standalone SSE stream is marked unbuffered for proxies', async () => {
  const init = await post('shared', {});
  const sessionId = init.headers.get('mcp-session-id')!;
  await init.body?.cancel();
  const abort = new AbortController();
  const res = await fetch(`${gw.httpUrl}/servers/shared/mcp`, {
    headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-accel-buffering')).toBe('no');
  abort.abort();
  await fetch(`${gw.httpUrl}/servers/shared/mcp`, { method: 'DELETE', headers: { 'Mcp-Session-Id': sessionId } });
});

test('the catalog shows each caller only what it can reach', async () => {
  const names = async (headers: Record<string, string>) =>
    (((await (await fetch(`${gw.httpUrl}/servers`, { headers })).json()) as any).servers as { name: string }[]).map((s) => s.name);
  expect(await names(bearer(alice))).toEqual(['alices', 'shared']);
  expect(await names(bearer(admin))).toEqual(['alices', 'shared']);
  expect(await names(bearer(bob))).toEqual(['shared']);
  expect(await names({})).toEqual(['shared']);
});
