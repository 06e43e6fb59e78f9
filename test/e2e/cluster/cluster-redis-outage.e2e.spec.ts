/**
 * Redis goes away mid-run and comes back empty, with no gateway restarted: each replica turns unready
 * and ready again by itself; meanwhile the replica holding a tunnel keeps serving it, calls through
 * the other one fail at once with 503 instead of waiting for an answer that cannot come (nothing
 * hangs), and afterwards the holder writes its records and names again, so calls through the other
 * replica work again. A replica cut off from Redis for less than a lease (Redis keeps its data) does
 * not leave behind the records of a tunnel that closed meanwhile.
 */
import { Redis } from 'ioredis';
import { CLUSTER_UNREACHABLE } from '../../../src/reverse-proxy/tunnel/call-error.js';
import { FakeTunnel, closeTunnels } from '../../support/fake-tunnel.js';
import type { RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { json, SseStream } from '../../support/sse.js';
import { RoundRobinForwarder } from '../../support/round-robin-forwarder.js';
import { eventually } from '../../support/wait.js';

const LEASE_MS = 1500;
const PREFIX = `outage-${process.pid}:`;
const NAME = 'outage';
/** "Fails fast": far below the request timeout (30 s by default, 10 s for the hanging call below). */
const FAST_MS = 2000;

let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
/** A reaches Redis through it, so that A alone can be cut off. */
let toRedis: RoundRobinForwarder;
const tunnels: FakeTunnel[] = [];
const measured: Record<string, number> = {};

beforeAll(async () => {
  redis = await startRedis();
  const env = { CLUSTER_PREFIX: PREFIX, CLUSTER_LEASE_MS: String(LEASE_MS) };
  toRedis = await RoundRobinForwarder.start([redis.port]);
  [a, b] = await Promise.all([
    startReplica(`redis://127.0.0.1:${toRedis.port}`, 'outage-a', env),
    startReplica(redis.url, 'outage-b', env),
  ]);
});

afterAll(async () => {
  await closeTunnels(tunnels);
  await Promise.all([a?.close(), b?.close()]);
  await toRedis?.close();
  await redis?.stop();
  if (process.env.MEASURE) process.stderr.write(`cluster-redis-outage timings (ms): ${JSON.stringify(measured)}\n`);
});

const call = (id: string, method = 'tools/list') => ({ jsonrpc: '2.0', id, method });

async function timed<T>(key: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  measured[key] = Date.now() - started;
  return result;
}

test('Redis stopped and restarted: unready then ready, local calls keep serving, relayed ones fail fast, then work again', async () => {
  const token = a.mintToken('alice@example.com');
  const { tunnel, sessionId } = await FakeTunnel.register(a.tunnelUrl, token, { name: NAME, capabilities: { tools: {} } });
  tunnels.push(tunnel);
  // Answers everything but `hang`, which stays in flight until the gateway gives up on it.
  tunnel.autoAnswer((payload) => (payload.method === 'hang' ? undefined : { result: { answered: payload.method } }));
  const onA = `${a.httpUrl}/reverse-proxy/sessions/${sessionId}/request`;
  const onB = `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`;
  await eventually(async () => (await http('POST', onB, { token, body: call('warm-up') })).status === 200, 'a call through B');

  // An admin follows the tunnel through B: the stream must outlive the outage, since the tunnel does.
  const sse = await SseStream.open(`${b.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
  await sse.next((e) => e.event === 'connected');

  // A call relayed through B is in flight when Redis goes away.
  const hanging = http('POST', `${onB}?timeout_ms=10000`, { token, body: call('h', 'hang') });
  await tunnel.next((f) => f.type === 'request' && f.payload?.method === 'hang');
  const stoppedAt = Date.now();
  await redis.stop();

  const lost = await hanging;
  measured.inFlightRelayedCallFailedAfterStop = Date.now() - stoppedAt;
  expect(lost.status).toBe(503);
  expect(lost.body.message).toBe(CLUSTER_UNREACHABLE);
  expect(measured.inFlightRelayedCallFailedAfterStop).toBeLessThan(FAST_MS);

  for (const [key, gateway] of [
    ['unreadyA', a],
    ['unreadyB', b],
  ] as const) {
    const res = await eventually(async () => {
      const ready = await http('GET', `${gateway.httpUrl}/ready`);
      return ready.status === 503 ? ready : undefined;
    }, `${key}: /ready 503`);
    measured[key] = Date.now() - stoppedAt;
    expect(res.body.message).toMatch(/cluster store \(Redis\) cannot be reached|holds no cluster lease/);
  }

  // The replica holding the tunnel keeps serving it.
  const local = await timed('localCallDuringOutage', () => http('POST', onA, { token, body: call('local') }));
  expect(local.status).toBe(200);
  expect(local.body).toEqual({ jsonrpc: '2.0', id: 'local', result: { answered: 'tools/list' } });
  // The other one answers at once that it cannot reach it.
  const relayed = await timed('relayedCallDuringOutage', () => http('POST', onB, { token, body: call('relayed') }));
  expect(relayed.status).toBe(503);
  expect(relayed.body.message).toMatch(/cluster store/);
  expect(measured.relayedCallDuringOutage).toBeLessThan(FAST_MS);
  // A name cannot be claimed without the cluster: the tunnel is told to come back later (1013), not left waiting.
  const newcomer = await timed('registerDuringOutage', async () => {
    const late = await FakeTunnel.connect(b.tunnelUrl, { Authorization: `Bearer ${token}` });
    tunnels.push(late);
    late.send({ type: 'register', server: { name: 'newcomer', capabilities: {} } });
    return { ack: await late.next((f) => f.type === 'register_ack'), code: await late.closed };
  });
  expect(newcomer.ack).toMatchObject({ status: 'error', message: CLUSTER_UNREACHABLE });
  expect(newcomer.code).toBe(1013);
  expect(measured.registerDuringOutage).toBeLessThan(FAST_MS);

  // Down for longer than a lease: everything in Redis would have expired anyway; the new one starts empty.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + LEASE_MS - Date.now())));
  await redis.restart();
  const restartedAt = Date.now();
  measured.redisDownFor = restartedAt - stoppedAt;
  // Meanwhile B is asked about the tunnel again and again: it never stopped existing, so B must never deny it.
  const statusesOnB = new Set<number>();
  let watching = true;
  const watchB = (async () => {
    while (watching) {
      statusesOnB.add((await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  for (const [key, gateway] of [
    ['readyAgainA', a],
    ['readyAgainB', b],
  ] as const) {
    await eventually(async () => (await http('GET', `${gateway.httpUrl}/ready`)).status === 200, `${key}: /ready 200`, 10_000);
    measured[key] = Date.now() - restartedAt;
  }

  // The holder wrote its session and its name into the empty Redis again.
  const direct = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await direct.connect();
    await eventually(async () => (await direct.sismember(`${PREFIX}sessions`, sessionId)) === 1, 'the session record back in Redis');
    measured.recordRewrittenAfterRestart = Date.now() - restartedAt;
    expect(await direct.hget(`${PREFIX}name:${NAME}`, 'session')).toBe(sessionId);
  } finally {
    direct.disconnect();
  }

  // Both list it, and a call through B reaches it again. Each try is bounded: an answer lost while
  // A subscribes again costs a try, not the test.
  for (const gateway of [a, b]) {
    await eventually(
      async () => (await http('GET', `${gateway.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 200,
      'listed again',
    );
  }
  await eventually(
    async () => (await http('POST', `${onB}?timeout_ms=1000`, { token, body: call('again') })).status === 200,
    'a call through B again',
    10_000,
  );
  measured.relayedCallWorksAfterRestart = Date.now() - restartedAt;
  // Until a whole lease after the restart: by then the holder re-wrote its records even on a slow tick.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, restartedAt + LEASE_MS - Date.now())));
  watching = false;
  await watchB;
  expect([...statusesOnB]).toEqual([200]);
  const again = await http('POST', onB, { token, body: call('again-2') });
  expect(again.status).toBe(200);
  expect(again.body).toEqual({ jsonrpc: '2.0', id: 'again-2', result: { answered: 'tools/list' } });
  // The name is alice's again cluster-wide: another user is refused on the other replica.
  await expect(FakeTunnel.register(b.tunnelUrl, b.mintToken('bob@example.com'), { name: NAME, capabilities: {} })).rejects.toThrow(
    /already in use by another user/,
  );
  expect(tunnel.ws.readyState).toBe(tunnel.ws.OPEN);
  // The stream on B is still on: the next thing it carries is the server's next notification, not a `closed`.
  tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'still here' } } });
  const event = await sse.next((e) => e.event === 'notification' || e.event === 'closed');
  expect(event.event).toBe('notification');
  expect(json(event)).toMatchObject({ params: { data: 'still here' } });
  await sse.close();
});

test('a tunnel that closes while its replica is cut off from Redis (shorter than a lease) leaves no record or name behind', async () => {
  const token = a.mintToken('alice@example.com');
  const { tunnel, sessionId } = await FakeTunnel.register(a.tunnelUrl, token, { name: 'ghost', capabilities: { tools: {} } });
  tunnels.push(tunnel);
  await eventually(
    async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 200,
    'B lists it',
  );

  // A loses Redis (a network cut: Redis itself and everything in it stay), and the tunnel closes meanwhile.
  const cutAt = Date.now();
  toRedis.remove(redis.port);
  toRedis.disconnectAll();
  await eventually(async () => (await http('GET', `${a.httpUrl}/ready`)).status === 503, 'A unready');
  await tunnel.close();
  expect((await http('GET', `${a.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status).toBe(404);
  toRedis.add(redis.port);
  await eventually(async () => (await http('GET', `${a.httpUrl}/ready`)).status === 200, 'A ready again', 5000);
  measured.cutOffFor = Date.now() - cutAt;
  // Back within the lease: the others never saw A die, so only A can clean up after its tunnel.
  expect(measured.cutOffFor).toBeLessThan(LEASE_MS);

  await eventually(
    async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status === 404,
    'the closed tunnel to leave B',
    2 * LEASE_MS,
  );
  measured.closedWhileCutOffLeftBAfter = Date.now() - cutAt;
  const direct = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await direct.connect();
    // The others hear of it first (a broadcast), the directory a moment later.
    await eventually(
      async () => (await direct.sismember(`${PREFIX}sessions`, sessionId)) === 0 && (await direct.exists(`${PREFIX}name:ghost`)) === 0,
      'the record and the name to leave Redis',
    );
  } finally {
    direct.disconnect();
  }
  // The name is free: another user takes it.
  const { tunnel: other } = await FakeTunnel.register(b.tunnelUrl, b.mintToken('bob@example.com'), { name: 'ghost', capabilities: {} });
  tunnels.push(other);
});
