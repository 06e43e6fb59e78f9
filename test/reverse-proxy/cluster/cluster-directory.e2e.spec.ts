import { Redis } from 'ioredis';
import { CLUSTER_DIRECTORY_LIMITS, ClusterDirectory } from '../../../src/reverse-proxy/cluster/cluster-directory.js';
import { type PrivateRedis, startRedis } from '../../support/redis.js';
import { eventually } from '../../support/wait.js';

let redis: PrivateRedis;
const clients: Redis[] = [];
let prefixSeq = 0;
let prefix: string;

/** A client that never queues or retries a command: with Redis down, calls reject at once. */
async function client(): Promise<Redis> {
  const c = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
  c.on('error', () => {}); // connection errors surface as rejected calls
  clients.push(c);
  await c.connect();
  return c;
}

async function directory(replicaId: string, leaseMs = 10_000): Promise<ClusterDirectory> {
  const d = new ClusterDirectory({ redis: await client(), prefix, replicaId, leaseMs });
  await d.holdLease();
  return d;
}

function record(id: string, owner: string | null, name?: string) {
  const server = name ? { name, version: '1.0.0', capabilities: { tools: {} } } : undefined;
  const counters = { messagesIn: 3, messagesOut: 2, bytesIn: 300, bytesOut: 200, pendingCount: 1, lastActivity: 1_700_000_000_500 };
  return { id, owner, name, server, connectedAt: new Date(1_700_000_000_000), state: 'ready' as const, counters };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

beforeEach(() => {
  // Each test gets keys of its own, so nothing leaks between tests.
  prefix = `test-${++prefixSeq}:{gw}:`;
});

test('the private server is not the standard port', () => {
  expect(redis.port).not.toBe(6379);
  expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
});

test('of many claims of one name racing on two replicas by different owners, exactly one wins', async () => {
  const a = await directory('A');
  const b = await directory('B');
  const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimName('weather', `s${i}`, `owner-${i}`)));
  const winners = claims.flatMap((claim, i) => (claim.kind === 'taken' ? [i] : []));
  expect(winners).toHaveLength(1);
  expect(claims.filter((c) => c.kind === 'refused' && c.reason === 'owner')).toHaveLength(39);
  expect(await b.sessionIdByName('weather')).toBe(`s${winners[0]}`);
  expect(await a.sessionIdByName('weather')).toBe(`s${winners[0]}`);
});

test('the same owner takes a name over across replicas and gets the previous holder back', async () => {
  const a = await directory('A');
  const b = await directory('B');
  expect(await a.claimName('files', 'a1', 'alice')).toEqual({ kind: 'taken' });
  expect(await a.claimName('files', 'a1', 'alice')).toEqual({ kind: 'taken' }); // the holder itself again
  expect(await b.claimName('files', 'b1', 'alice')).toEqual({ kind: 'replaced', previous: { sessionId: 'a1', replica: 'A' } });
  expect(await a.sessionIdByName('files')).toBe('b1');
  // Anonymous is an owner of its own: it neither takes alice's name nor is taken for her.
  expect(await a.claimName('files', 'a2', null)).toEqual({ kind: 'refused', reason: 'owner' });
  expect(await a.claimName('anon', 'a3', null)).toEqual({ kind: 'taken' });
  expect(await b.claimName('anon', 'b3', null)).toEqual({ kind: 'replaced', previous: { sessionId: 'a3', replica: 'A' } });
  // Re-claiming after a lapse never takes a live holder's name, even the same owner's.
  expect(await a.claimName('anon', 'a3', null, false)).toEqual({ kind: 'refused', reason: 'owner' });
});

test('another owner is refused while the holder lives', async () => {
  const a = await directory('A');
  const b = await directory('B');
  expect(await a.claimName('db', 'a1', 'alice')).toEqual({ kind: 'taken' });
  expect(await b.claimName('db', 'b1', 'bob')).toEqual({ kind: 'refused', reason: 'owner' });
  expect(await a.claimName('db', 'a2', 'bob')).toEqual({ kind: 'refused', reason: 'owner' });
  expect(await b.sessionIdByName('db')).toBe('a1');
});

test('releaseName frees a name only for its holder', async () => {
  const a = await directory('A');
  const b = await directory('B');
  await a.claimName('db', 'a1', 'alice');
  expect(await b.releaseName('db', 'b9')).toBe(false);
  expect(await a.releaseName('db', 'a2')).toBe(false);
  expect(await b.sessionIdByName('db')).toBe('a1');
  expect(await a.releaseName('db', 'a1')).toBe(true);
  expect(await b.sessionIdByName('db')).toBeUndefined();
  expect(await b.claimName('db', 'b1', 'bob')).toEqual({ kind: 'taken' });
  expect(await a.releaseName('db', 'a1')).toBe(false); // taken over meanwhile: not a1's to free
  expect(await a.sessionIdByName('db')).toBe('b1');
});

test('sessions are listed across replicas', async () => {
  const a = await directory('A');
  const b = await directory('B');
  await a.putSession(record('a1', 'alice', 'files'));
  await a.putSession(record('a2', null));
  await b.putSession(record('b1', 'bob', 'db'));
  const listed = (await b.listSessions()).sort((x, y) => x.id.localeCompare(y.id));
  expect(listed).toEqual([
    { ...record('a1', 'alice', 'files'), replica: 'A' },
    { ...record('a2', null), replica: 'A' },
    { ...record('b1', 'bob', 'db'), replica: 'B' },
  ]);
  expect(await a.getSession('b1')).toEqual({ ...record('b1', 'bob', 'db'), replica: 'B' });
  expect(await a.getSession('nope')).toBeUndefined();
  expect(await a.removeSession('a2')).toBe(true);
  expect(await a.removeSession('a2')).toBe(false);
  expect((await b.listSessions()).map((s) => s.id).sort()).toEqual(['a1', 'b1']);
  expect(await a.liveReplicas()).toEqual(['A', 'B']);
});

test("a record keeps a session's access rules and its suspension; a record without them reads as before", async () => {
  const a = await directory('A');
  const shared = { ...record('r1', 'alice', 'shared'), access: { users: ['bob'], groups: ['eng'], everyone: false }, suspended: true };
  await a.putSession(shared);
  await a.putSession(record('r2', 'alice', 'plain'));
  expect(await a.getSession('r1')).toEqual({ ...shared, replica: 'A' });
  const plain = await a.getSession('r2');
  expect(plain).not.toHaveProperty('access');
  expect(plain).not.toHaveProperty('suspended');
});

test('a server description over the limit is refused and nothing is stored', async () => {
  const a = await directory('A');
  const big = { name: 'big', instructions: 'x'.repeat(CLUSTER_DIRECTORY_LIMITS.maxServerJsonBytes) };
  await expect(a.putSession({ ...record('a1', 'alice', 'big'), server: big })).rejects.toThrow(RangeError);
  expect(await a.getSession('a1')).toBeUndefined();
  expect(await a.listSessions()).toEqual([]);
});

test('a released lease: the replica is dead, its sessions vanish and its names are free', async () => {
  const a = await directory('A');
  const b = await directory('B');
  await a.claimName('files', 'a1', 'alice');
  await a.putSession(record('a1', 'alice', 'files'));
  await b.putSession(record('b1', 'bob'));
  await a.releaseLease();
  expect(await b.liveReplicas()).toEqual(['B']);
  expect(await b.sessionIdByName('files')).toBeUndefined();
  expect(await b.getSession('a1')).toBeUndefined();
  expect((await b.listSessions()).map((s) => s.id)).toEqual(['b1']);
  expect(await b.claimName('files', 'b1', 'bob')).toEqual({ kind: 'taken' });
  expect(await b.sessionIdByName('files')).toBe('b1');
  // A dead replica claims nothing, and learns it lost its lease when it renews.
  expect(await a.claimName('other', 'a2', 'alice')).toEqual({ kind: 'refused', reason: 'no-lease' });
  expect(await a.renewLease()).toBe(false);
});

test('a lease that is not renewed expires; one that is renewed lives on', async () => {
  const a = await directory('A', 300);
  const c = await directory('C', 300);
  const b = await directory('B');
  await a.claimName('files', 'a1', 'alice');
  await a.putSession(record('a1', 'alice', 'files'));
  await c.putSession(record('c1', 'carol'));
  for (let i = 0; i < 5; i++) {
    await sleep(100);
    expect(await c.renewLease()).toBe(true);
  }
  expect(await b.liveReplicas()).toEqual(['B', 'C']);
  expect((await b.listSessions()).map((s) => s.id)).toEqual(['c1']);
  expect(await b.claimName('files', 'b1', 'bob')).toEqual({ kind: 'taken' });
  expect(await a.renewLease()).toBe(false);
});

test('with Redis down calls reject at once, and work again after a restart', async () => {
  const a = await directory('A');
  await a.claimName('files', 'a1', 'alice'); // the scripts are loaded now
  await redis.stop();
  await expect(a.claimName('files', 'a2', 'alice')).rejects.toThrow();
  await expect(a.listSessions()).rejects.toThrow();
  await expect(a.renewLease()).rejects.toThrow();
  await redis.restart();
  // Nothing was persisted; the client reconnects by itself and reloads the scripts (NOSCRIPT -> EVAL).
  await eventually(
    async () =>
      (await a.holdLease().then(
        () => true,
        () => false,
      )) || undefined,
    'reconnect',
    10_000,
  );
  expect(await a.claimName('files', 'a2', 'alice')).toEqual({ kind: 'taken' });
  expect(await a.sessionIdByName('files')).toBe('a2');
});
