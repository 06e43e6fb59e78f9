import jwt from 'jsonwebtoken';
import { FakeTunnel, closeTunnels } from '../../support/fake-tunnel.js';
import { TEST_SECRET, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { startRedis, type PrivateRedis } from '../../support/redis.js';
import { startReplica } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';

// Sharing across two replicas on one private Redis: the rules of a tunnel held by A are known on B
// (directory record), changed through B (relayed to A), and a group member's call entering B is
// authorised on A with the groups B verified.
let redis: PrivateRedis;
let a: RunningGateway;
let b: RunningGateway;
const tunnels: FakeTunnel[] = [];

const tokenFor = (sub: string, groups: string[] = []) => jwt.sign({ sub, groups }, TEST_SECRET, { algorithm: 'HS256', expiresIn: '1h' });

beforeAll(async () => {
  redis = await startRedis();
  a = await startReplica(redis.url, 'share-a');
  b = await startReplica(redis.url, 'share-b');
});

afterEach(() => closeTunnels(tunnels));

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function tunnelOnA(name: string): Promise<{ tunnel: FakeTunnel; sessionId: string; owner: string }> {
  const owner = tokenFor('alice');
  const { tunnel, sessionId } = await FakeTunnel.register(a.tunnelUrl, owner, { name, capabilities: { tools: {} } });
  tunnels.push(tunnel);
  tunnel.autoAnswer((payload) => ({ result: { method: payload.method } }));
  await eventually(
    async () => (await http('GET', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: owner })).status === 200,
    'B lists it',
  );
  return { tunnel, sessionId, owner };
}

const callThroughB = (sessionId: string, token: string) =>
  http('POST', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
  });

test('rules PUT through B are applied on A and known on both; a group member entering B is served, others refused', async () => {
  const { sessionId, owner } = await tunnelOnA('shared-tools');
  const bob = tokenFor('bob', ['eng']);
  const carol = tokenFor('carol', ['sales']);
  expect((await callThroughB(sessionId, bob)).status).toBe(403);

  const put = await http('PUT', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: owner, body: { groups: ['eng'] } });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ session_id: sessionId, groups: ['eng'], users: [], everyone: false });
  // A holds the tunnel: its own view of the rules changed (relayed), and B's follows A's record.
  await eventually(async () => {
    const got = await http('GET', `${a.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: owner });
    return got.status === 200 && JSON.stringify(got.body).includes('"eng"');
  }, 'A applies the rules');

  const served = await callThroughB(sessionId, bob);
  expect(served.status).toBe(200);
  expect(served.body).toMatchObject({ result: { method: 'tools/list' } });
  expect((await callThroughB(sessionId, carol)).status).toBe(403);

  // /servers on B lists it for bob as a user, not for carol.
  const listed = await http('GET', `${b.httpUrl}/servers`, { token: bob });
  expect(JSON.stringify(listed.body)).toContain('shared-tools');
  expect(JSON.stringify((await http('GET', `${b.httpUrl}/servers`, { token: carol })).body)).not.toContain('shared-tools');
});

test('rules PUT on A reach B through the directory; a shared user may not change them through B', async () => {
  const { sessionId, owner } = await tunnelOnA('named-tools');
  const dave = tokenFor('dave');
  const put = await http('PUT', `${a.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: owner, body: { users: ['dave'] } });
  expect(put.status).toBe(200);
  await eventually(async () => (await callThroughB(sessionId, dave)).status === 200, 'B knows dave may use it');
  const refused = await http('PUT', `${b.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: dave, body: { everyone: true } });
  expect(refused.status).toBe(403);
});
