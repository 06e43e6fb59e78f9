/**
 * A rolling restart of one replica with calls in flight through another: SIGTERM to the replica
 * holding a slow tunnel drains it (unready at once, calls in flight get SHUTDOWN_GRACE_MS), so the
 * calls relayed from the other replica still get their answers; only then are its tunnels closed
 * with 1012, and the real tunnel client, behind a round-robin ingress that has taken the stopping
 * replica out of rotation, comes back on the other replica at once (no backoff wait).
 */
import { signToken } from '../../../src/auth/sign-token.js';
import { frameText } from '../../../src/protocol/frame-text.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from '../../client/helpers/cli-process.js';
import { FakeTunnel, closeTunnels, type Frame } from '../../support/fake-tunnel.js';
import { startReplica, startReplicaProcess } from '../../support/cluster.js';
import { TEST_SECRET, type GatewayProcess, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { rawHttp } from '../../support/raw-http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { RoundRobinForwarder } from '../../support/round-robin-forwarder.js';
import { eventually } from '../../support/wait.js';

const LEASE_MS = 1500;
const GRACE_MS = 3000;
/** How long the slow tunnel takes to answer. */
const ANSWER_AFTER_MS = 500;
/** Far below any delay the CLI's 30 s backoff base draws, except a rare tiny one (the log assertions rule that out). */
const BACK_WITHIN_MS = 3000;
const NAME = 'rolling';
const USER = 'erin@example.com';
const token = signToken({ secret: TEST_SECRET, sub: USER, expiresIn: '1h' });

let redis: PrivateRedis;
let a: GatewayProcess;
let b: RunningGateway;
let ingress: RoundRobinForwarder;
const tunnels: FakeTunnel[] = [];
const measured: Record<string, number> = {};

beforeAll(async () => {
  redis = await startRedis();
  const env = { CLUSTER_PREFIX: `drain-${process.pid}:`, CLUSTER_LEASE_MS: String(LEASE_MS) };
  [a, b] = await Promise.all([
    startReplicaProcess(redis.url, 'drain-a', { ...env, SHUTDOWN_GRACE_MS: String(GRACE_MS) }),
    startReplica(redis.url, 'drain-b', env),
  ]);
  // Only A at first, so that the CLI is certainly held by the replica about to stop.
  ingress = await RoundRobinForwarder.start([a.port]);
});

afterAll(async () => {
  await killAll();
  await closeTunnels(tunnels);
  a?.kill();
  await ingress?.close();
  await b?.close();
  await redis?.stop();
  if (process.env.MEASURE) process.stderr.write(`cluster-sigterm-drain timings (ms): ${JSON.stringify(measured)}\n`);
});

const sessionIds = (cli: CliProcess) => [...cli.stderr.matchAll(/connected as session ([0-9a-f]+)/g)].map((m) => m[1]);
const registrations = (cli: CliProcess) => [...cli.stderr.matchAll(new RegExp(`registered as "${NAME}"`, 'g'))].length;

async function listedIds(httpUrl: string): Promise<string[]> {
  const res = await http('GET', `${httpUrl}/reverse-proxy/sessions`, { token });
  expect(res.status).toBe(200);
  return (res.body.sessions as { session_id: string }[]).map((s) => s.session_id);
}

test('SIGTERM with calls in flight through another replica: every call answered, then 1012, and the CLI is back on B at once', async () => {
  const cli = new CliProcess([
    '--local-stdio',
    FIXTURE_COMMAND,
    '--gateway',
    ingress.url,
    '--token',
    token,
    '--name',
    NAME,
    '--reconnect-delay',
    '30',
  ]);
  await cli.waitForLog(new RegExp(`registered as "${NAME}"`));
  const [first] = sessionIds(cli);
  ingress.add(b.port);

  // A slow server on A: every request is answered ANSWER_AFTER_MS after it arrived.
  const { tunnel: slow, sessionId: slowId } = await FakeTunnel.register(a.tunnelUrl, token, { name: 'slow', capabilities: { tools: {} } });
  tunnels.push(slow);
  const answeredAt = new Map<string, number>();
  slow.ws.on('message', (data) => {
    const frame = JSON.parse(frameText(data)) as Frame;
    if (frame.type !== 'request' || frame.payload?.method !== 'tools/call') return;
    setTimeout(() => {
      answeredAt.set(frame.payload.params.name, Date.now());
      slow.send({ type: 'response', payload: { jsonrpc: '2.0', id: frame.payload.id, result: { slow: frame.payload.params.name } } });
    }, ANSWER_AFTER_MS);
  });
  await eventually(
    async () => (await listedIds(b.httpUrl)).includes(slowId) && (await listedIds(b.httpUrl)).includes(first),
    'B lists both',
  );

  // Three calls through B and one on A itself, all in flight on A's tunnel.
  const toolCall = (id: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: id, arguments: {} } });
  const ids = ['via-b-1', 'via-b-2', 'via-b-3', 'on-a'];
  const calls = ids.map((id) =>
    http('POST', `${id === 'on-a' ? a.httpUrl : b.httpUrl}/reverse-proxy/sessions/${slowId}/request`, { token, body: toolCall(id) }),
  );
  await eventually(() => requestsSeen(slow) === ids.length, 'every call to reach the tunnel');

  // The orchestrator takes A out of rotation as it stops it.
  ingress.remove(a.port);
  const termAt = Date.now();
  a.child.kill('SIGTERM');
  // A is draining: unready, while it waits for the calls.
  await eventually(async () => (await http('GET', `${a.httpUrl}/ready`).catch(() => undefined))?.status === 503, 'A unready');
  measured.unreadyAfterSigterm = Date.now() - termAt;

  const answers = await Promise.all(calls);
  measured.lastAnswerAfterSigterm = Date.now() - termAt;
  // Every answer left the server after the SIGTERM: the calls were all in flight when the drain began.
  expect(Math.min(...answeredAt.values())).toBeGreaterThan(termAt);
  answers.forEach((answer, i) => {
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ jsonrpc: '2.0', id: ids[i], result: { slow: ids[i] } });
  });

  // Then, and only then, the tunnels are closed with 1012.
  expect(await slow.closed).toBe(1012);
  const closedAt = Date.now();
  measured.closed1012AfterSigterm = closedAt - termAt;
  expect(closedAt).toBeGreaterThanOrEqual(Math.max(...answeredAt.values()));
  expect(measured.closed1012AfterSigterm).toBeLessThan(GRACE_MS);

  // The CLI comes back on B without waiting.
  await eventually(() => registrations(cli) === 2, 'the CLI to register on B', BACK_WITHIN_MS + 2000);
  measured.cliRegisteredAgainAfter1012 = Date.now() - closedAt;
  expect(measured.cliRegisteredAgainAfter1012).toBeLessThan(BACK_WITHIN_MS);
  expect(cli.stderr).toMatch(/gateway restarting \(code 1012: gateway shutting down\); reconnecting now \(attempt 1\)/);
  expect(cli.stderr).not.toMatch(/reconnecting in/);
  expect(ingress.routed.at(-1)).toBe(b.port);
  const second = sessionIds(cli).at(-1)!;
  expect(second).not.toBe(first);

  // A said goodbye (records removed, lease given up), so B forgets A's tunnels without waiting for the lease to run out.
  await eventually(async () => {
    const listed = await listedIds(b.httpUrl);
    return !listed.includes(slowId) && !listed.includes(first) && listed.includes(second);
  }, 'B to list only the CLI new session');
  measured.oldSessionsLeftBAfter1012 = Date.now() - closedAt;
  expect(measured.oldSessionsLeftBAfter1012).toBeLessThan(LEASE_MS);
  const servers = await http('GET', `${b.httpUrl}/servers`, { token });
  expect((servers.body.servers as { name: string }[]).filter((s) => s.name === NAME)).toHaveLength(1);

  // A call through the ingress reaches the tunnel again.
  const echo = await rawHttp(`${ingress.url}/reverse-proxy/sessions/${second}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'echo', arguments: { text: 'on B' } } }),
  });
  expect(echo.status).toBe(200);
  expect(JSON.parse(echo.text)).toEqual({ jsonrpc: '2.0', id: 'e', result: { content: [{ type: 'text', text: 'on B' }] } });

  expect(await a.exited).toBe('SIGTERM');
  measured.exitedAfterSigterm = Date.now() - termAt;
  expect(cli.serverPids).toHaveLength(1);
});

/** tools/call requests the tunnel has received so far (the frames a test has not taken out of `frames`). */
function requestsSeen(tunnel: FakeTunnel): number {
  return tunnel.frames.filter((f) => f.type === 'request' && f.payload?.method === 'tools/call').length;
}
