import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { SseStream } from '../support/sse.js';

/**
 * The gateway's side of resumption (docs/protocol.md), driven by raw frames: a dropped connection
 * suspends a resumable session, a resume with its token carries it on and sends what the client
 * missed, callers get exactly one answer; tokens are single-use and bound to their owner.
 */
let gw: RunningGateway;
const open: FakeTunnel[] = [];
const streams: SseStream[] = [];

beforeAll(async () => {
  gw = await startGateway({ TUNNEL_RESUME_GRACE_MS: '1500' });
});

afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(open);
});

afterAll(() => gw.close());

async function connect(user = 'alice'): Promise<FakeTunnel> {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken(user)}` });
  open.push(tunnel);
  return tunnel;
}

/** Registers a resumable tunnel; returns it with its session id and resume token. */
async function resumable(name: string, user = 'alice') {
  const tunnel = await connect(user);
  tunnel.send({ type: 'register', resumable: true, server: { name, capabilities: { tools: {} } } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  await tunnel.next((f) => f.type === 'register_complete');
  return { tunnel, sessionId: ack.sessionId as string, token: ack.resumeToken as string, ack };
}

function post(sessionId: string, id: number | string, user = 'alice') {
  return http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: gw.mintToken(user),
    body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo' } },
  });
}

test('register_ack offers a token to a client that asks; frames to it are numbered', async () => {
  const { tunnel, sessionId, ack } = await resumable('numbered');
  expect(ack).toMatchObject({ status: 'success', resumeToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), resumeGraceMs: 1500 });
  const answer = post(sessionId, 1);
  const request = await tunnel.next((f) => f.type === 'request');
  expect(request).toMatchObject({ seq: 1, ack: 0, payload: { id: 'gw-1' } });
  tunnel.send({ type: 'response', seq: 1, ack: 1, payload: { jsonrpc: '2.0', id: 'gw-1', result: { ok: true } } });
  expect((await answer).body).toEqual({ jsonrpc: '2.0', id: 1, result: { ok: true } });
  // A duplicate of the same answer (as after a resend) is dropped unread.
  tunnel.send({ type: 'response', seq: 1, ack: 1, payload: { jsonrpc: '2.0', id: 'gw-1', result: { again: true } } });
  tunnel.send({ type: 'heartbeat' });
  await tunnel.next((f) => f.type === 'heartbeat');
  expect(tunnel.frames.filter((f) => f.type === 'error')).toEqual([]);
});

test('a dropped connection suspends the session; the resume gets what it missed and each caller one answer', async () => {
  const { tunnel, sessionId, token } = await resumable('blip');
  const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${gw.mintToken('alice')}` });
  streams.push(sse);
  await sse.next((e) => e.event === 'connected');
  const first = post(sessionId, 'a');
  await tunnel.next((f) => f.type === 'request' && f.payload?.id === 'gw-1');
  tunnel.ws.terminate(); // no close frame: a network drop
  await sse.next((e) => e.event === 'suspended');
  const second = post(sessionId, 'b'); // accepted and kept while the client is away

  const back = await connect();
  back.send({ type: 'register', server: { name: 'blip' }, resume: { token, lastReceived: 0 } });
  const ack = await back.next((f) => f.type === 'register_ack');
  expect(ack).toMatchObject({ status: 'success', resumed: true, sessionId, lastReceived: 0 });
  expect(ack.resumeToken).not.toBe(token);
  const resent = [await back.next((f) => f.type === 'request'), await back.next((f) => f.type === 'request')];
  expect(resent.map((f) => [f.seq, f.payload.id])).toEqual([
    [1, 'gw-1'],
    [2, 'gw-2'],
  ]);
  await back.next((f) => f.type === 'register_complete');
  await sse.next((e) => e.event === 'resumed');
  back.send({ type: 'response', seq: 1, ack: 2, payload: { jsonrpc: '2.0', id: 'gw-1', result: { n: 1 } } });
  back.send({ type: 'response', seq: 2, ack: 2, payload: { jsonrpc: '2.0', id: 'gw-2', result: { n: 2 } } });
  expect((await first).body).toEqual({ jsonrpc: '2.0', id: 'a', result: { n: 1 } });
  expect((await second).body).toEqual({ jsonrpc: '2.0', id: 'b', result: { n: 2 } });
  // Same session, same name, listed once.
  const listed = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: gw.mintToken('alice') });
  expect(listed.body.sessions.filter((s: { name: string }) => s.name === 'blip')).toEqual([
    expect.objectContaining({ session_id: sessionId }),
  ]);
});

test('a used token, another user presenting it, or a made-up one are refused; the connection can register afresh', async () => {
  const { tunnel, token } = await resumable('guarded');
  tunnel.ws.terminate();
  const bob = await connect('bob');
  bob.send({ type: 'register', server: { name: 'guarded' }, resume: { token, lastReceived: 0 } });
  expect(await bob.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'error', resumeRefused: true });
  // Bob's try used the token up: Alice cannot resume with it either.
  const alice = await connect('alice');
  alice.send({ type: 'register', server: { name: 'guarded' }, resume: { token, lastReceived: 0 } });
  expect(await alice.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'error', resumeRefused: true });
  alice.send({ type: 'register', server: { name: 'guarded', capabilities: {} } });
  expect(await alice.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success' });
  const stranger = await connect('alice');
  stranger.send({ type: 'register', server: { name: 'x' }, resume: { token: 'made-up', lastReceived: 0 } });
  expect(await stranger.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'error', resumeRefused: true });
});

test('past the grace period waiting callers hear the tunnel was lost, and the name is free', async () => {
  const { tunnel, sessionId } = await resumable('gone');
  const started = Date.now();
  const waiting = post(sessionId, 1);
  await tunnel.next((f) => f.type === 'request');
  tunnel.ws.terminate();
  const answer = await waiting;
  const waited = Date.now() - started;
  expect(answer.status).toBe(502);
  expect(answer.body.message).toBe('The tunnel closed (tunnel lost: no reconnect within 2 s)');
  expect(waited).toBeGreaterThanOrEqual(1400);
  const other = await connect('bob');
  other.send({ type: 'register', server: { name: 'gone', capabilities: {} } });
  expect(await other.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success' });
});

test('an older client (no resumable) gets no token and no numbering, and a drop ends its session at once', async () => {
  const tunnel = await connect();
  tunnel.send({ type: 'register', server: { name: 'old', capabilities: {} } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  expect(ack).toEqual({
    type: 'register_ack',
    sessionId: ack.sessionId,
    status: 'success',
    mcpUrl: expect.stringMatching(/\/servers\/old\/mcp$/),
  });
  const waiting = post(ack.sessionId, 1);
  const request = await tunnel.next((f) => f.type === 'request');
  expect(request).toEqual({
    type: 'request',
    sessionId: ack.sessionId,
    payload: { jsonrpc: '2.0', id: 'gw-1', method: 'tools/call', params: { name: 'echo' } },
  });
  tunnel.ws.terminate();
  expect((await waiting).status).toBe(502);
});
