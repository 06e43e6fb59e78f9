/**
 * Two tunnels register the same free name at the same moment, one on each replica: the claim is one
 * Lua script in Redis, so between two users exactly one wins and the other is refused; between two
 * tunnels of one user the later claim takes the name over and the earlier tunnel is closed with 4000,
 * and once it settles every replica lists the name once, held by the same session.
 */
import { FakeTunnel, closeTunnels, type Frame } from '../../support/fake-tunnel.js';
import type { RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';

const LEASE_MS = 1500;
/** Rounds per scenario: the interleaving of the two claims differs from one to the next. */
const ROUNDS = 6;

let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
let admin: string;
const tunnels: FakeTunnel[] = [];
const outcomes: Record<string, number> = {};

beforeAll(async () => {
  redis = await startRedis();
  const env = { CLUSTER_PREFIX: `race-${process.pid}:`, CLUSTER_LEASE_MS: String(LEASE_MS) };
  [a, b] = await Promise.all([startReplica(redis.url, 'race-a', env), startReplica(redis.url, 'race-b', env)]);
  admin = a.mintToken('root@example.com', { admin: true });
});

afterEach(() => closeTunnels(tunnels));

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  if (process.env.MEASURE) process.stderr.write(`cluster-name-race outcomes: ${JSON.stringify(outcomes)}\n`);
});

/** Opens one tunnel on each replica, then sends both register frames in the same event-loop turn, B's first when `bFirst`. */
async function race(name: string, userA: string, userB: string, bFirst: boolean): Promise<[FakeTunnel, FakeTunnel]> {
  const onA = await FakeTunnel.connect(a.tunnelUrl, { Authorization: `Bearer ${a.mintToken(userA)}` });
  const onB = await FakeTunnel.connect(b.tunnelUrl, { Authorization: `Bearer ${b.mintToken(userB)}` });
  tunnels.push(onA, onB);
  const register: Frame = { type: 'register', server: { name, capabilities: { tools: {} } } };
  for (const tunnel of bFirst ? [onB, onA] : [onA, onB]) tunnel.send(register);
  return [onA, onB];
}

/** The register_ack, or undefined when the tunnel closed without one. */
async function ackOrClose(tunnel: FakeTunnel): Promise<Frame | undefined> {
  return Promise.race([tunnel.next((f) => f.type === 'register_ack'), tunnel.closed.then(() => undefined)]);
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sessions holding `name` in a replica's listing, as the admin sees them. */
async function holders(gateway: RunningGateway, name: string): Promise<string[]> {
  const res = await http('GET', `${gateway.httpUrl}/reverse-proxy/sessions`, { token: admin });
  expect(res.status).toBe(200);
  return (res.body.sessions as { session_id: string; name?: string }[]).filter((s) => s.name === name).map((s) => s.session_id);
}

/** Catalog entries for `name` on a replica. */
async function catalogEntries(gateway: RunningGateway, name: string): Promise<{ name: string; owner: string }[]> {
  const res = await http('GET', `${gateway.httpUrl}/servers`, { token: admin });
  expect(res.status).toBe(200);
  return (res.body.servers as { name: string; owner: string }[]).filter((s) => s.name === name);
}

/** Every replica lists exactly `sessionId` under `name`, once, in its sessions and in its catalog. */
async function settledOn(name: string, sessionId: string, owner: string): Promise<void> {
  for (const gateway of [a, b]) {
    await eventually(async () => {
      const ids = await holders(gateway, name);
      const entries = await catalogEntries(gateway, name);
      return ids.length === 1 && ids[0] === sessionId && entries.length === 1 && entries[0].owner === owner;
    }, `${gateway.config.cluster?.replicaId} to list ${name} once, held by ${sessionId}`);
  }
}

test('two users, the same free name, the same moment, two replicas: exactly one wins, the other is refused', async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const name = `contested-${round}`;
    // Alternate which replica is sent its frame first, so that either claim may reach Redis first.
    const [alice, bob] = ['alice@example.com', 'bob@example.com'];
    const [onA, onB] = await race(name, alice, bob, round % 2 === 1);
    const [ackA, ackB] = await Promise.all([ackOrClose(onA), ackOrClose(onB)]);
    const acks = [ackA, ackB];
    expect(acks.map((ack) => ack?.status).sort()).toEqual(['error', 'success']);
    const winnerIndex = acks.findIndex((ack) => ack?.status === 'success');
    const winner = [onA, onB][winnerIndex];
    const loser = [onA, onB][1 - winnerIndex];
    expect(acks[1 - winnerIndex]!.message).toBe(`Server name "${name}" is already in use by another user`);
    // The name is someone else's: 1008, which the CLI takes as "do not come back".
    expect(await loser.closed).toBe(1008);
    await winner.next((f) => f.type === 'register_complete');
    const owner = winnerIndex === 0 ? alice : bob;
    outcomes[`differentUsers.wonOn${winnerIndex === 0 ? 'A' : 'B'}`] =
      (outcomes[`differentUsers.wonOn${winnerIndex === 0 ? 'A' : 'B'}`] ?? 0) + 1;
    await settledOn(name, acks[winnerIndex]!.sessionId, owner);
    expect(winner.ws.readyState).toBe(winner.ws.OPEN);
    await closeTunnels(tunnels);
  }
});

test('one user, the same free name, the same moment, two replicas: one takes it over, the other is closed with 4000', async () => {
  const user = 'carol@example.com';
  for (let round = 0; round < ROUNDS; round++) {
    const name = `mine-${round}`;
    const [onA, onB] = await race(name, user, user, round % 2 === 1);
    // The one replaced is closed with 4000, with or without a register_ack first (the close may overtake it).
    const closedFirst = await within(Promise.race([onA.closed.then(() => 0), onB.closed.then(() => 1)]), 5000, 'one of the two to close');
    const replaced = [onA, onB][closedFirst];
    const survivor = [onA, onB][1 - closedFirst];
    expect(replaced.closeCode).toBe(4000);
    expect(replaced.closeReason).toBe('replaced');
    const ack = await survivor.next((f) => f.type === 'register_ack');
    expect(ack.status).toBe('success');
    await survivor.next((f) => f.type === 'register_complete');
    outcomes[`sameUser.keptOn${closedFirst === 0 ? 'B' : 'A'}`] = (outcomes[`sameUser.keptOn${closedFirst === 0 ? 'B' : 'A'}`] ?? 0) + 1;
    await settledOn(name, ack.sessionId, user);
    // Settled for good: a directory re-read (every third of the lease) does not bring the replaced one back.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 3 + 200));
    for (const gateway of [a, b]) expect(await holders(gateway, name)).toEqual([ack.sessionId]);
    expect(survivor.ws.readyState).toBe(survivor.ws.OPEN);
    await closeTunnels(tunnels);
  }
});
