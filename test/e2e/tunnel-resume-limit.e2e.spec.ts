import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { SseStream } from '../support/sse.js';

/**
 * Resumption at the per-user session limit (found by the resumption soak, bench/lib/resume-soak.mjs):
 * a suspended session still counts against MAX_SESSIONS_PER_USER, and the upgrade cannot tell a
 * resume from a new tunnel, so a user at the limit had every resume refused with HTTP 429 until the
 * grace ran out and the session, with every call waiting on it, was lost. Each suspended session now
 * lets one connection past the limit, which may resume but not register a new session.
 */
let gw: RunningGateway;
const open: FakeTunnel[] = [];
const streams: SseStream[] = [];

beforeAll(async () => {
  gw = await startGateway({ TUNNEL_RESUME_GRACE_MS: '10000', MAX_SESSIONS_PER_USER: '1' });
});

afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(open);
});

afterAll(() => gw.close());

async function connect(user: string): Promise<FakeTunnel> {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken(user)}` });
  open.push(tunnel);
  return tunnel;
}

/** Registers the user's one resumable tunnel, drops its connection and waits until the gateway has suspended it. */
async function suspendedAtLimit(user: string, name: string) {
  const tunnel = await connect(user);
  tunnel.send({ type: 'register', resumable: true, server: { name, capabilities: { tools: {} } } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  await tunnel.next((f) => f.type === 'register_complete');
  const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${ack.sessionId}`, { Authorization: `Bearer ${gw.mintToken(user)}` });
  streams.push(sse);
  await sse.next((e) => e.event === 'connected');
  tunnel.ws.terminate(); // no close frame: a network drop
  await sse.next((e) => e.event === 'suspended');
  return { sessionId: ack.sessionId as string, token: ack.resumeToken as string };
}

test('a user at its session limit resumes its suspended session; a call waiting on it is answered', async () => {
  const { sessionId, token } = await suspendedAtLimit('alice', 'at-limit');
  const waiting = http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo' } },
  });

  const back = await connect('alice');
  back.send({ type: 'register', server: { name: 'at-limit' }, resume: { token, lastReceived: 0 } });
  expect(await back.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success', resumed: true, sessionId });
  const request = await back.next((f) => f.type === 'request');
  back.send({ type: 'response', seq: 1, ack: request.seq, payload: { jsonrpc: '2.0', id: request.payload.id, result: { ok: true } } });
  expect((await waiting).body).toEqual({ jsonrpc: '2.0', id: 7, result: { ok: true } });
  const list = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: gw.mintToken('alice') });
  expect(list.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([sessionId]);
});

test('the connection a suspended session lets past the limit cannot register a new session, nor can a second one connect', async () => {
  const { sessionId, token } = await suspendedAtLimit('bob', 'no-second');
  const extra = await connect('bob');
  await expect(connect('bob')).rejects.toMatchObject({ status: 429 });
  extra.send({ type: 'register', resumable: true, server: { name: 'sneaky', capabilities: { tools: {} } } });
  // Try again later, without a register_ack: a client retries with backoff, as after a 429.
  expect(await extra.closed).toBe(1013);
  expect(extra.frames.filter((f) => f.type === 'register_ack')).toEqual([]);

  // The slot is still there for the resume.
  const back = await connect('bob');
  back.send({ type: 'register', server: { name: 'no-second' }, resume: { token, lastReceived: 0 } });
  expect(await back.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success', resumed: true, sessionId });
  const list = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: gw.mintToken('bob') });
  expect(list.body.total).toBe(1);
});
