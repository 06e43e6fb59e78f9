import { FakeTunnel, closeTunnels } from '../../support/fake-tunnel.js';
import type { RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { json, SseStream, type SseEvent } from '../../support/sse.js';
import { eventually } from '../../support/wait.js';

// What the console reads, in cluster mode: a tunnel held by A has the same stats through B (B asks A),
// and B's session list stream follows A's tunnels as they come, change and go.
let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
const tunnels: FakeTunnel[] = [];
const streams: SseStream[] = [];

beforeAll(async () => {
  redis = await startRedis();
  a = await startReplica(redis.url, 'console-a', { TUNNEL_RESUME_GRACE_MS: '5000' });
  b = await startReplica(redis.url, 'console-b', { TUNNEL_RESUME_GRACE_MS: '5000' });
});

afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(tunnels);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function tunnelOnA(token: string, name: string): Promise<{ tunnel: FakeTunnel; sessionId: string }> {
  const { tunnel, sessionId } = await FakeTunnel.register(a.tunnelUrl, token, { name, capabilities: { tools: {} } });
  tunnels.push(tunnel);
  tunnel.autoAnswer((payload) => (payload.method === 'fail' ? { error: { code: -32601, message: 'no' } } : { result: {} }));
  await eventually(
    async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 200,
    'B lists it',
  );
  return { tunnel, sessionId };
}

async function follow(replica: RunningGateway, token: string): Promise<SseStream> {
  const sse = await SseStream.open(`${replica.httpUrl}/reverse-proxy/sse`, { Authorization: `Bearer ${token}` });
  streams.push(sse);
  await sse.next((e) => e.event === 'snapshot');
  return sse;
}
const about = (sessionId: string) => (e: SseEvent) => e.event !== 'keepalive' && e.event !== 'snapshot' && json(e).session_id === sessionId;

test("stats read through B are A's: calls entering either replica are counted where the tunnel is", async () => {
  const alice = a.mintToken('alice');
  const { sessionId } = await tunnelOnA(alice, 'console-stats');
  const call = (replica: RunningGateway, method: string) =>
    http('POST', `${replica.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
      token: alice,
      body: { jsonrpc: '2.0', id: 1, method },
    });
  expect((await call(a, 'tools/list')).status).toBe(200);
  expect((await call(b, 'tools/list')).status).toBe(200);
  expect((await call(b, 'fail')).body.error.code).toBe(-32601);
  const onA = await http('GET', `${a.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`, { token: alice });
  const onB = await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`, { token: alice });
  expect(onB.status).toBe(200);
  expect(onB.body).toMatchObject({ session_id: sessionId, interval_s: 10, window_s: 600, calls_total: 3, errors_total: 1 });
  expect(onB.body.points).toHaveLength(60);
  expect(onB.body.calls_total).toBe(onA.body.calls_total);
  expect(onB.body.points.reduce((n: number, p: { calls: number }) => n + p.calls, 0)).toBe(3);
  // Another user is refused on B as on A; an admin is served.
  expect((await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`, { token: b.mintToken('mallory') })).status).toBe(403);
  const admin = b.mintToken('root', { admin: true });
  expect((await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`, { token: admin })).body.calls_total).toBe(3);
});

test("B's list stream shows A's tunnel added and registered, then removed when it closes; another user's stream does not", async () => {
  const alice = b.mintToken('alice');
  const alices = await follow(b, alice);
  const mallorys = await follow(b, b.mintToken('mallory'));
  const { tunnel, sessionId } = await tunnelOnA(alice, 'console-list');
  const added = await alices.next(about(sessionId));
  expect(added.event).toBe('added');
  expect(json(added)).toMatchObject({ session_id: sessionId, user: 'alice' });
  await alices.next((e) => about(sessionId)(e) && json(e).state === 'ready');
  await tunnel.close();
  const removed = await alices.next((e) => about(sessionId)(e) && e.event === 'removed');
  expect(json(removed)).toEqual({ session_id: sessionId });
  expect(mallorys.events.map((e) => e.data).join('\n')).not.toContain(sessionId);
});

test("rules changed on either replica show on B's stream: the session is added for the user it is shared with, removed when unshared", async () => {
  const alice = a.mintToken('alice');
  const { sessionId } = await tunnelOnA(alice, 'console-shared');
  const bobs = await follow(b, b.mintToken('bob'));
  const put = (replica: RunningGateway, body: unknown) =>
    http('PUT', `${replica.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: alice, body });
  expect((await put(b, { users: ['bob'] })).status).toBe(200);
  const added = await bobs.next(about(sessionId));
  expect([added.event, json(added).role]).toEqual(['added', 'user']);
  expect((await put(a, {})).status).toBe(200);
  const removed = await bobs.next(about(sessionId));
  expect([removed.event, json(removed)]).toEqual(['removed', { session_id: sessionId }]);
});

test("a tunnel on A that loses its connection shows as suspended on B's stream, and as resumed when it comes back", async () => {
  const alice = a.mintToken('alice');
  const alices = await follow(b, alice);
  const tunnel = await FakeTunnel.connect(a.tunnelUrl, { Authorization: `Bearer ${alice}` });
  tunnels.push(tunnel);
  tunnel.send({ type: 'register', resumable: true, server: { name: 'console-resumable', capabilities: { tools: {} } } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  const sessionId = ack.sessionId as string;
  await alices.next((e) => about(sessionId)(e) && json(e).state === 'ready');
  tunnel.ws.terminate();
  const suspended = await alices.next(about(sessionId));
  expect([suspended.event, json(suspended).suspended]).toEqual(['updated', true]);
  const back = await FakeTunnel.connect(a.tunnelUrl, { Authorization: `Bearer ${alice}` });
  tunnels.push(back);
  back.send({ type: 'register', server: { name: 'console-resumable' }, resume: { token: ack.resumeToken, lastReceived: 0 } });
  expect(await back.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success', resumed: true, sessionId });
  const resumed = await alices.next((e) => about(sessionId)(e) && e.event === 'updated');
  expect(json(resumed).suspended).toBe(false);
});
