/**
 * A replica dies (SIGKILL: no drain, no lease release, no 1012): the survivors learn it only from
 * its lease running out. The real tunnel client, connected through a round-robin ingress, comes back
 * on the live replica and takes its name back; its old session leaves the survivor's listing within
 * the lease (plus one re-read), and REST calls through the ingress work again.
 */
import { signToken } from '../../../src/auth/sign-token.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from '../../client/helpers/cli-process.js';
import { startReplica, startReplicaProcess } from '../../support/cluster.js';
import { TEST_SECRET, type GatewayProcess, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { rawHttp } from '../../support/raw-http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { RoundRobinForwarder } from '../../support/round-robin-forwarder.js';
import { eventually } from '../../support/wait.js';

const LEASE_MS = 1500;
/** The lease runs out at most LEASE_MS after the last renewal, and the survivor re-reads the directory every third of it. */
const GONE_WITHIN_MS = LEASE_MS + LEASE_MS / 3;
/** Polling the listing and process scheduling on a loaded machine. */
const SLACK_MS = 400;
const NAME = 'survivor';
const USER = 'dana@example.com';
const token = signToken({ secret: TEST_SECRET, sub: USER, expiresIn: '1h' });

let redis: PrivateRedis;
let a: GatewayProcess;
let b: RunningGateway;
let ingress: RoundRobinForwarder;
const measured: Record<string, number> = {};

beforeAll(async () => {
  redis = await startRedis();
  const env = { CLUSTER_PREFIX: `death-${process.pid}:`, CLUSTER_LEASE_MS: String(LEASE_MS) };
  [a, b] = await Promise.all([startReplicaProcess(redis.url, 'death-a', env), startReplica(redis.url, 'death-b', env)]);
  // Only A at first, so that the tunnel is certainly held by the replica about to die.
  ingress = await RoundRobinForwarder.start([a.port]);
});

afterAll(async () => {
  await killAll();
  a?.kill();
  await ingress?.close();
  await b?.close();
  await redis?.stop();
  if (process.env.MEASURE) process.stderr.write(`cluster-replica-death timings (ms): ${JSON.stringify(measured)}\n`);
});

async function listedIds(httpUrl: string): Promise<string[]> {
  const res = await http('GET', `${httpUrl}/reverse-proxy/sessions`, { token });
  expect(res.status).toBe(200);
  return (res.body.sessions as { session_id: string }[]).map((s) => s.session_id);
}

async function serverNames(httpUrl: string): Promise<string[]> {
  const res = await http('GET', `${httpUrl}/servers`, { token });
  expect(res.status).toBe(200);
  return (res.body.servers as { name: string }[]).map((s) => s.name);
}

const sessionIds = (cli: CliProcess) => [...cli.stderr.matchAll(/connected as session ([0-9a-f]+)/g)].map((m) => m[1]);
const registrations = (cli: CliProcess) => [...cli.stderr.matchAll(new RegExp(`registered as "${NAME}"`, 'g'))].length;

/** A REST call on a connection of its own (rawHttp: no keep-alive), so the ingress deals each one to a backend afresh. */
function postThroughIngress(sessionId: string, body: unknown) {
  return rawHttp(`${ingress.url}/reverse-proxy/sessions/${sessionId}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const echo = (text: string) => ({
  jsonrpc: '2.0',
  id: `echo-${text}`,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text } },
});

test('SIGKILL of the replica holding a tunnel: it leaves the survivor within the lease, the CLI comes back on the survivor with its name', async () => {
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
    '0.5',
  ]);
  await cli.waitForLog(new RegExp(`registered as "${NAME}"`));
  const [first] = sessionIds(cli);
  expect(first).toBeDefined();
  expect(ingress.routed).toEqual([a.port]);
  await eventually(async () => (await listedIds(b.httpUrl)).includes(first), 'B lists the tunnel held by A');
  const before = await http('POST', `${b.httpUrl}/reverse-proxy/sessions/${first}/request`, { token, body: echo('before') });
  expect(before.status).toBe(200);
  // From now on the ingress spreads new connections over both; A's refused connections fall through to B.
  ingress.add(b.port);

  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  expect(await a.exited).toBe('SIGKILL');

  // Both, concurrently: the old session leaving B's listing, and the CLI registering again.
  const gone = eventually(
    async () => !(await listedIds(b.httpUrl)).includes(first),
    'the dead replica session to leave B',
    GONE_WITHIN_MS + 3000,
  ).then(() => (measured.sessionLeftSurvivorAfterKill = Date.now() - killedAt));
  const back = eventually(() => registrations(cli) === 2, 'the CLI to register again', 10_000).then(
    () => (measured.cliRegisteredAgainAfterKill = Date.now() - killedAt),
  );
  await Promise.all([gone, back]);
  expect(measured.sessionLeftSurvivorAfterKill).toBeLessThanOrEqual(GONE_WITHIN_MS + SLACK_MS);
  // Its link had been up for less than LINK_STABLE_AFTER_MS, so the drop cost one backoff draw of at most 0.5 s.
  expect(measured.cliRegisteredAgainAfterKill).toBeLessThan(3000);
  expect(cli.stderr).toMatch(/disconnected \(code 1006\)/);
  expect(cli.stderr).not.toMatch(/giving up|rejected the registration/);

  const second = sessionIds(cli).at(-1)!;
  expect(second).not.toBe(first);
  // The only live replica holds it now, under its old name, and lists it once.
  expect(ingress.routed.at(-1)).toBe(b.port);
  const ids = await listedIds(b.httpUrl);
  expect(ids).toContain(second);
  expect(ids).not.toContain(first);
  const got = await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${second}`, { token });
  expect(got.body).toMatchObject({ session_id: second, name: NAME, state: 'ready' });
  expect((await serverNames(b.httpUrl)).filter((n) => n === NAME)).toHaveLength(1);

  // REST through the ingress: several new connections, each dealt to the next backend, all answered.
  for (let i = 0; i < 4; i++) {
    const started = Date.now();
    const res = await postThroughIngress(second, echo(`after-${i}`));
    measured[`restThroughIngress${i}`] = Date.now() - started;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      jsonrpc: '2.0',
      id: `echo-after-${i}`,
      result: { content: [{ type: 'text', text: `after-${i}` }] },
    });
  }
  // The old session id is gone for good.
  expect((await postThroughIngress(first, echo('old'))).status).toBe(404);
  // One local server throughout: the reconnect did not restart it.
  expect(cli.serverPids).toHaveLength(1);
});
