import { FakeTunnel, closeTunnels } from '../../support/fake-tunnel.js';
import type { RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';

// A resume that the ingress sends to another replica than the one holding the session: that replica
// carries the connection to the session's replica, which resumes it as its own.
let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  redis = await startRedis();
  a = await startReplica(redis.url, 'resume-a', { TUNNEL_RESUME_GRACE_MS: '10000' });
  b = await startReplica(redis.url, 'resume-b', { TUNNEL_RESUME_GRACE_MS: '10000' });
});

afterEach(() => closeTunnels(tunnels));

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function connect(gateway: RunningGateway, user = 'alice'): Promise<FakeTunnel> {
  const tunnel = await FakeTunnel.connect(gateway.tunnelUrl, { Authorization: `Bearer ${gateway.mintToken(user)}` });
  tunnels.push(tunnel);
  return tunnel;
}

test('a session held by A is resumed through B: what was missed is sent again, the caller gets its answer', async () => {
  const first = await connect(a);
  first.send({ type: 'register', resumable: true, server: { name: 'roaming', capabilities: { tools: {} } } });
  const ack = await first.next((f) => f.type === 'register_ack');
  await first.next((f) => f.type === 'register_complete');
  expect(ack.resumeToken).toMatch(/^resume-a~/);
  const token = a.mintToken('alice');
  await eventually(async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${ack.sessionId}`, { token })).status === 200);
  const waiting = http('POST', `${b.httpUrl}/reverse-proxy/sessions/${ack.sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'far', method: 'tools/call', params: { name: 'echo' } },
  });
  await first.next((f) => f.type === 'request' && f.seq === 1);
  first.ws.terminate();

  const back = await connect(b);
  back.send({ type: 'register', server: { name: 'roaming' }, resume: { token: ack.resumeToken, lastReceived: 0 } });
  const resumed = await back.next((f) => f.type === 'register_ack');
  expect(resumed).toMatchObject({ status: 'success', resumed: true, sessionId: ack.sessionId, lastReceived: 0 });
  expect(resumed.resumeToken).toMatch(/^resume-a~/);
  const again = await back.next((f) => f.type === 'request');
  expect(again).toMatchObject({ seq: 1, payload: { id: 'gw-1', method: 'tools/call' } });
  await back.next((f) => f.type === 'register_complete');
  back.send({ type: 'response', seq: 1, ack: 1, payload: { jsonrpc: '2.0', id: 'gw-1', result: { via: 'B' } } });
  expect((await waiting).body).toEqual({ jsonrpc: '2.0', id: 'far', result: { via: 'B' } });
  // Calls keep flowing over the carried connection.
  const next = http('POST', `${a.httpUrl}/reverse-proxy/sessions/${ack.sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'next', method: 'tools/list' },
  });
  const request = await back.next((f) => f.type === 'request' && f.seq === 2);
  back.send({ type: 'response', seq: 2, ack: 2, payload: { jsonrpc: '2.0', id: request.payload.id, result: { tools: [] } } });
  expect((await next).body).toEqual({ jsonrpc: '2.0', id: 'next', result: { tools: [] } });
});

test('a refused resume through B hands the connection back: it registers afresh on B', async () => {
  const first = await connect(a);
  first.send({ type: 'register', resumable: true, server: { name: 'refused', capabilities: {} } });
  const ack = await first.next((f) => f.type === 'register_ack');
  first.ws.terminate();
  const mallory = await connect(b, 'mallory');
  mallory.send({ type: 'register', server: { name: 'refused' }, resume: { token: ack.resumeToken, lastReceived: 0 } });
  expect(await mallory.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'error', resumeRefused: true });
  mallory.send({ type: 'register', server: { name: 'mallorys', capabilities: {} } });
  const fresh = await mallory.next((f) => f.type === 'register_ack');
  expect(fresh).toMatchObject({ status: 'success' });
  const token = b.mintToken('mallory');
  expect((await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${fresh.sessionId}`, { token })).body).toMatchObject({ name: 'mallorys' });
});
