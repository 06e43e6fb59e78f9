import { get, type IncomingMessage } from 'node:http';
import type { Subject } from 'rxjs';
import { SessionRegistry } from '../../src/reverse-proxy/tunnel/session-registry.js';
import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { json, parseSse, SseStream, type SseEvent } from '../support/sse.js';
import { eventually } from '../support/wait.js';

// GET /reverse-proxy/sse: the live list of the sessions a caller may see, over real tunnels.
let gw: RunningGateway;
let alice: string;
let bob: string;
let admin: string;
const tunnels: FakeTunnel[] = [];
const streams: SseStream[] = [];

beforeAll(async () => {
  gw = await startGateway({ SSE_KEEPALIVE_MS: '100', TUNNEL_RESUME_GRACE_MS: '5000' });
  alice = gw.mintToken('alice@example.com');
  bob = gw.mintToken('bob@example.com');
  admin = gw.mintToken('root@example.com', { admin: true });
});
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(tunnels);
  await eventually(() => gw.app.get(SessionRegistry).list().length === 0, 'the sessions of the test to close');
});
afterAll(() => gw.close());

async function register(name: string, token: string, server: Record<string, unknown> = {}) {
  const result = await FakeTunnel.register(gw.tunnelUrl, token, { name, version: '2.0.0', capabilities: { tools: {} }, ...server });
  tunnels.push(result.tunnel);
  return result;
}

async function follow(headers: Record<string, string>, query = ''): Promise<SseStream> {
  const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse${query}`, headers);
  streams.push(sse);
  return sse;
}
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const about = (sessionId: string) => (e: SseEvent) => e.event !== 'keepalive' && e.event !== 'snapshot' && json(e).session_id === sessionId;

test('snapshot first, with what the caller may see and its role', async () => {
  const mine = await register('list-mine', alice);
  const theirs = await register('list-theirs', bob);
  const sse = await follow(as(alice));
  expect(sse.status).toBe(200);
  expect(sse.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const first = await sse.next();
  expect(first.event).toBe('snapshot');
  const { sessions } = json<{ sessions: Record<string, unknown>[] }>(first);
  expect(sessions).toEqual([
    expect.objectContaining({ session_id: mine.sessionId, name: 'list-mine', user: 'alice@example.com', state: 'ready', role: 'owner' }),
  ]);
  expect(sessions[0]).toEqual(expect.objectContaining({ messages_in: expect.any(Number), messages_out: expect.any(Number) }));
  const all = await follow(as(admin));
  const listed = json<{ sessions: { session_id: string; role: string }[] }>(await all.next()).sessions;
  expect(listed.map((s) => [s.session_id, s.role]).sort()).toEqual(
    [
      [mine.sessionId, 'admin'],
      [theirs.sessionId, 'admin'],
    ].sort(),
  );
});

test('added when a tunnel connects, updated when it is registered, removed when it closes', async () => {
  const sse = await follow(as(alice));
  await sse.next((e) => e.event === 'snapshot');
  const { tunnel, sessionId } = await register('list-lifecycle', alice);
  const added = await sse.next(about(sessionId));
  expect(added.event).toBe('added');
  expect(json(added)).toMatchObject({ session_id: sessionId, user: 'alice@example.com', state: 'connected', role: 'owner' });
  const updated = await sse.next(about(sessionId));
  expect(updated.event).toBe('updated');
  expect(json(updated)).toMatchObject({ session_id: sessionId, name: 'list-lifecycle', state: 'ready', server_info: { version: '2.0.0' } });
  await tunnel.close();
  const removed = await sse.next(about(sessionId));
  expect([removed.event, json(removed)]).toEqual(['removed', { session_id: sessionId }]);
});

test("a user's stream never shows another user's session; an admin's shows both", async () => {
  const bobs = await follow(as(bob));
  const admins = await follow(as(admin));
  await Promise.all([bobs.next((e) => e.event === 'snapshot'), admins.next((e) => e.event === 'snapshot')]);
  const hers = await register('list-hers', alice);
  const his = await register('list-his', bob);
  await bobs.next((e) => e.event === 'updated' && json(e).session_id === his.sessionId);
  await admins.next((e) => e.event === 'updated' && json(e).session_id === his.sessionId);
  await tunnels.find((t) => t === hers.tunnel)!.close();
  await admins.next((e) => e.event === 'removed' && json(e).session_id === hers.sessionId);
  // Bob's own session closing comes after Alice's on both streams: by then any event about hers would have arrived.
  await his.tunnel.close();
  await bobs.next((e) => e.event === 'removed' && json(e).session_id === his.sessionId);
  expect(bobs.events.map((e) => e.data).join('\n')).not.toContain(hers.sessionId);
  expect(admins.events.map((e) => e.data).join('\n')).toContain(hers.sessionId);
});

test('sharing shows the session to the user it names (role user); unsharing removes it', async () => {
  const { sessionId } = await register('list-shared', alice);
  const bobs = await follow(as(bob));
  expect(json(await bobs.next()).sessions).toEqual([]);
  const put = (body: unknown) => http('PUT', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: alice, body });
  expect((await put({ users: ['bob@example.com'] })).status).toBe(200);
  const added = await bobs.next(about(sessionId));
  expect(added.event).toBe('added');
  expect(json(added)).toMatchObject({ session_id: sessionId, role: 'user' });
  expect(json(added)).not.toHaveProperty('access');
  expect((await put({})).status).toBe(200);
  const removed = await bobs.next(about(sessionId));
  expect([removed.event, json(removed)]).toEqual(['removed', { session_id: sessionId }]);
});

test('a dropped connection shows as an update (suspended), and so does the resume', async () => {
  const sse = await follow(as(alice));
  await sse.next((e) => e.event === 'snapshot');
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, as(alice));
  tunnels.push(tunnel);
  tunnel.send({ type: 'register', resumable: true, server: { name: 'list-resumable', capabilities: { tools: {} } } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  const sessionId = ack.sessionId as string;
  await sse.next((e) => about(sessionId)(e) && json(e).state === 'ready');
  tunnel.ws.terminate();
  const suspended = await sse.next((e) => about(sessionId)(e) && json(e).suspended === true);
  expect([suspended.event, json(suspended)]).toEqual(['updated', expect.objectContaining({ state: 'ready', suspended: true })]);
  const back = await FakeTunnel.connect(gw.tunnelUrl, as(alice));
  tunnels.push(back);
  back.send({ type: 'register', server: { name: 'list-resumable' }, resume: { token: ack.resumeToken, lastReceived: 0 } });
  expect(await back.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success', resumed: true, sessionId });
  const resumed = await sse.next((e) => about(sessionId)(e) && json(e).suspended === false);
  expect([resumed.event, json(resumed)]).toEqual(['updated', expect.objectContaining({ suspended: false })]);
});

test('keepalive events come at the configured interval; counters are not pushed', async () => {
  const { tunnel, sessionId } = await register('list-quiet', alice);
  tunnel.autoAnswer(() => ({ result: {} }));
  const sse = await follow(as(alice));
  await sse.next((e) => e.event === 'snapshot');
  await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: alice,
    body: { jsonrpc: '2.0', id: 1, method: 'x' },
  });
  await sse.next((e) => e.event === 'keepalive');
  await sse.next((e) => e.event === 'keepalive');
  expect(sse.events.filter((e) => e.event !== 'keepalive').map((e) => e.event)).toEqual(['snapshot']);
  expect(new Date(json(sse.events[1]).timestamp).toISOString()).toBe(json(sse.events[1]).timestamp);
});

test('401 without a token; ?token= works, as EventSource cannot send headers; the per-session stream still answers', async () => {
  expect((await follow({})).status).toBe(401);
  const viaQuery = await follow({}, `?token=${encodeURIComponent(alice)}`);
  expect((await viaQuery.next()).event).toBe('snapshot');
  const { sessionId } = await register('list-route-order', alice);
  const one = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, as(alice));
  streams.push(one);
  expect((await one.next()).event).toBe('connected');
});

describe('a reader that does not read', () => {
  let small: RunningGateway;
  beforeAll(async () => {
    small = await startGateway({ SSE_MAX_BACKLOG: '2' });
  });
  afterAll(() => small.close());

  test('gets dropped and the stream ends; the sessions stay up', async () => {
    const token = small.mintToken('alice@example.com');
    // A large server description (near its limits) makes every `updated` event large (~35 KB), so the response soon backs up.
    const { tunnel, sessionId } = await FakeTunnel.register(small.tunnelUrl, token, {
      name: 'list-lagging',
      capabilities: { tools: {}, experimental: { blob: 'x'.repeat(15_000) } },
      instructions: 'y'.repeat(16_000),
      description: 'z'.repeat(4_000),
    });
    const registry: unknown = small.app.get(SessionRegistry);
    const { changes } = registry as { changes: Subject<unknown> };
    const before = changes.observers.length;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(`${small.httpUrl}/reverse-proxy/sse`, { headers: { Authorization: `Bearer ${token}` } }, resolve);
      req.on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    await eventually(() => changes.observers.length === before + 1, 'the stream to follow the registry');
    // Each new set of rules is an `updated` event carrying the whole session.
    for (let sent = 0; changes.observers.length > before && sent < 400; sent++) {
      const users = sent % 2 === 0 ? ['bob@example.com'] : [];
      await http('PUT', `${small.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token, body: { users } });
    }
    expect(changes.observers.length).toBe(before);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.resume();
    await new Promise((resolve) => res.once('end', resolve));
    const events = parseSse(text);
    expect(events[0].event).toBe('snapshot');
    expect(events.at(-1)?.event).toBe('dropped');
    expect(json(events.at(-1)!)).toEqual({ reason: 'The client did not keep up with the events' });
    expect((await http('GET', `${small.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token })).status).toBe(200);
    await tunnel.close();
  }, 30_000);
});
