import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FakeTunnel, type Frame } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectStreamable } from '../support/mcp-clients.js';
import { SseStream } from '../support/sse.js';

/**
 * The REST door cannot reach into an MCP client's call on the same tunnel: a progress token or a
 * cancellation naming the call's tunnel id (gw-N) is not honoured.
 */

let gw: RunningGateway;
let alice: string;
let admin: string;
let tunnel: FakeTunnel;
let sessionId: string;
let client: Client;

beforeAll(async () => {
  gw = await startGateway();
  alice = gw.mintToken('alice@example.com');
  admin = gw.mintToken('root@example.com', { admin: true });
  ({ tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, alice, {
    name: 'shared',
    version: '1.0.0',
    capabilities: { tools: {} },
  }));
  ({ client } = await connectStreamable(gw.httpUrl, 'shared', alice));
});
afterAll(async () => {
  await client.close();
  await tunnel.close();
  await gw.close();
});

const post = (body: unknown, token: string, query = '') =>
  http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request${query}`, { token, body });
const isCall = (name: string) => (f: Frame) =>
  f.type === 'request' && f.payload?.method === 'tools/call' && f.payload.params?.name === name;
const answer = (id: string, text: string) =>
  tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } } });

test("a REST caller's progress token set to an MCP call's gw id does not inject progress into that call", async () => {
  const progress: unknown[] = [];
  const mcpCall = client.callTool({ name: 'slow', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
  const down = await tunnel.next(isCall('slow'));
  const victimId: string = down.payload.id;
  expect(down.payload.params._meta.progressToken).toBe(victimId);

  const stream = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${admin}` });
  await stream.next((e) => e.event === 'connected');
  const rest = await post(
    { jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: 'other', _meta: { progressToken: victimId } } },
    admin,
    '?wait=false',
  );
  expect(rest.status).toBe(202);
  const restDown = await tunnel.next(isCall('other'));
  const restToken = restDown.payload.params._meta.progressToken;
  expect(restToken).not.toBe(victimId);
  expect(restToken).toBe(restDown.payload.id);

  // The server reports progress on the token it was given, as servers do.
  tunnel.send({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: restToken, progress: 1, total: 2 } },
  });
  const event = await stream.next((e) => e.event === 'notification');
  // On the SSE stream the REST caller sees its progress under the token it chose.
  expect(JSON.parse(event.data)).toMatchObject({ method: 'notifications/progress', params: { progressToken: victimId, progress: 1 } });
  await stream.close();

  answer(restDown.payload.id, 'rest');
  answer(victimId, 'mcp');
  await expect(mcpCall).resolves.toMatchObject({ content: [{ text: 'mcp' }] });
  expect(progress).toEqual([]);
});

test("a REST caller's notifications/cancelled naming an MCP call's gw id (or its id) is refused, and nothing is sent", async () => {
  const mcpCall = client.callTool({ name: 'held', arguments: {} });
  const down = await tunnel.next(isCall('held'));
  const victimId: string = down.payload.id;

  for (const token of [alice, admin]) {
    const res = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: victimId, reason: 'x' } }, token);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('No request of yours with that requestId is in flight on this session');
  }
  // Give a forwarded cancellation time to arrive: none may.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(tunnel.frames.filter((f) => f.payload?.method === 'notifications/cancelled')).toEqual([]);

  answer(victimId, 'still mine');
  await expect(mcpCall).resolves.toMatchObject({ content: [{ text: 'still mine' }] });
});

test('a REST caller cancels its own call with its own request id; the server gets the id it knows', async () => {
  const pending = post({ jsonrpc: '2.0', id: 'mine', method: 'tools/call', params: { name: 'mine' } }, alice);
  const down = await tunnel.next(isCall('mine'));
  // Another user with access (an admin) cannot cancel it under alice's id.
  expect((await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mine' } }, admin)).status).toBe(400);
  const cancel = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mine', reason: 'enough' } }, alice);
  expect(cancel.status).toBe(202);
  const cancelled = await tunnel.next((f) => f.payload?.method === 'notifications/cancelled');
  expect(cancelled.payload.params).toEqual({ requestId: down.payload.id, reason: 'enough' });
  expect((await pending).status).toBe(502);
});
