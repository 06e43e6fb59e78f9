import { FakeTunnel, closeTunnels } from '../../support/fake-tunnel.js';
import type { RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { json, SseStream } from '../../support/sse.js';
import { eventually } from '../../support/wait.js';

// Two replicas on one private Redis: a tunnel held by A is listed, described, called, followed and
// disconnected through B, with the same answers as on A.
let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  redis = await startRedis();
  a = await startReplica(redis.url, 'rest-a');
  b = await startReplica(redis.url, 'rest-b');
});

afterEach(() => closeTunnels(tunnels));

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function tunnelOnA(user: string, name: string): Promise<{ tunnel: FakeTunnel; sessionId: string; token: string }> {
  const token = a.mintToken(user);
  const { tunnel, sessionId } = await FakeTunnel.register(a.tunnelUrl, token, { name, capabilities: { tools: {} } });
  tunnels.push(tunnel);
  // B learns of it from A's broadcast.
  await eventually(
    async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 200,
    'B lists it',
  );
  return { tunnel, sessionId, token };
}

test('list and get through the replica that does not hold the tunnel', async () => {
  const { sessionId, token } = await tunnelOnA('alice', 'files');
  const listed = await http('GET', `${b.httpUrl}/reverse-proxy/sessions`, { token });
  expect(listed.status).toBe(200);
  expect(JSON.stringify(listed.body)).toContain(sessionId);
  const got = await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token });
  expect(got.body).toMatchObject({ session_id: sessionId, name: 'files', state: 'ready' });
  // Another user is refused on B as on A.
  const other = await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: b.mintToken('mallory') });
  expect(other.status).toBe(403);
});

test('a request through B is answered by the tunnel on A, with the caller id restored', async () => {
  const { tunnel, sessionId, token } = await tunnelOnA('alice', 'calc');
  tunnel.autoAnswer((payload) => ({ result: { echoed: payload.method, id: payload.id } }));
  const answer = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'mine-1', method: 'tools/list' },
  });
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ jsonrpc: '2.0', id: 'mine-1', result: { echoed: 'tools/list' } });
  // The tunnel saw the gateway's own id, not the caller's.
  expect(answer.body.result.id).toMatch(/^gw-/);
});

test('a timeout on A reaches the caller on B as 504; ?wait=false answers 202 and the answer reaches SSE on B', async () => {
  const { tunnel, sessionId, token } = await tunnelOnA('alice', 'slow');
  const timedOut = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request?timeout_ms=200`, {
    token,
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call' },
  });
  expect(timedOut.status).toBe(504);
  await tunnel.next((f) => f.payload?.method === 'notifications/cancelled');

  const sse = await SseStream.open(`${b.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
  await sse.next((e) => e.event === 'connected');
  const sent = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request?wait=false`, {
    token,
    body: { jsonrpc: '2.0', id: 'later', method: 'tools/list' },
  });
  expect(sent.status).toBe(202);
  const request = await tunnel.next((f) => f.type === 'request' && f.payload?.method === 'tools/list');
  tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: request.payload.id, result: { ok: true } } });
  const response = await sse.next((e) => e.event === 'response');
  expect(json(response)).toEqual({ jsonrpc: '2.0', id: 'later', result: { ok: true } });
  // A notification from the server reaches the stream on B too.
  tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'hi' } } });
  expect(json(await sse.next((e) => e.event === 'notification'))).toMatchObject({ params: { data: 'hi' } });
  await sse.close();
});

test('a server request reaches an SSE follower on B, and its answer posted to B reaches the server', async () => {
  const { tunnel, sessionId, token } = await tunnelOnA('alice', 'asks');
  const sse = await SseStream.open(`${b.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
  await sse.next((e) => e.event === 'connected');
  // The follow reaches A asynchronously: until then A answers server requests itself.
  await eventually(async () => {
    tunnel.send({ type: 'request', payload: { jsonrpc: '2.0', id: `s-${Date.now()}`, method: 'roots/list' } });
    return (await sse.next((e) => e.event === 'request', 300).catch(() => undefined)) !== undefined;
  }, 'request event on B');
  const posted = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'answer-me', result: { roots: [] } },
  });
  expect(posted.status).toBe(202);
  const forwarded = await tunnel.next((f) => f.type === 'request' && f.payload?.id === 'answer-me');
  expect(forwarded.payload).toEqual({ jsonrpc: '2.0', id: 'answer-me', result: { roots: [] } });
  await sse.close();
});

test('DELETE through B disconnects the tunnel on A, and it leaves both listings', async () => {
  const { tunnel, sessionId, token } = await tunnelOnA('alice', 'bye');
  const deleted = await http('DELETE', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token });
  expect(deleted.status).toBe(200);
  await tunnel.closed;
  for (const gateway of [a, b]) {
    await eventually(async () => (await http('GET', `${gateway.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 404);
  }
});

test('a name is unique across replicas: another user is refused on B, the same user takes it over from A', async () => {
  const { tunnel: first } = await tunnelOnA('alice', 'shared');
  await expect(FakeTunnel.register(b.tunnelUrl, b.mintToken('bob'), { name: 'shared', capabilities: {} })).rejects.toThrow(
    /already in use by another user/,
  );
  const { tunnel: second, sessionId } = await FakeTunnel.register(b.tunnelUrl, b.mintToken('alice'), { name: 'shared', capabilities: {} });
  tunnels.push(second);
  expect(await first.closed).toBe(4000);
  await eventually(async () => {
    const listed = await http('GET', `${a.httpUrl}/servers`, { token: a.mintToken('alice') });
    return (
      JSON.stringify(listed.body).includes('shared') &&
      (await http('GET', `${a.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: a.mintToken('alice') })).status === 200
    );
  }, 'A sees the new holder');
});

test("progress of a call made through B reaches B's SSE stream with the caller's token; its cancellation through B reaches the server", async () => {
  const { tunnel, sessionId, token } = await tunnelOnA('alice', 'progress');
  const sse = await SseStream.open(`${b.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
  await sse.next((e) => e.event === 'connected');
  const answer = http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'x', _meta: { progressToken: 'mine' } } },
  });
  const request = await tunnel.next((f) => f.type === 'request' && f.payload?.method === 'tools/call');
  const gatewayId = request.payload.id as string;
  // The server was given the gateway's token, never the caller's.
  expect(request.payload.params._meta.progressToken).toBe(gatewayId);
  tunnel.send({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: gatewayId, progress: 1, total: 2 } },
  });
  expect(json(await sse.next((e) => e.event === 'notification'))).toMatchObject({ params: { progressToken: 'mine', progress: 1 } });
  const cancelled = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'enough' } },
  });
  expect(cancelled.status).toBe(202);
  const cancel = await tunnel.next((f) => f.payload?.method === 'notifications/cancelled');
  expect(cancel.payload.params).toEqual({ requestId: gatewayId, reason: 'enough' });
  expect((await answer).status).toBe(502);
  await sse.close();
});
