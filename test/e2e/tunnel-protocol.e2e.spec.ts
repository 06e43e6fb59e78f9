import WebSocket from 'ws';
import { TunnelCloseCode } from '../../src/protocol/envelopes.js';
import { FakeTunnel, type Frame, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { json, SseStream } from '../support/sse.js';
import { eventually } from '../support/wait.js';

const open: FakeTunnel[] = [];
const streams: SseStream[] = [];

async function connect(gw: RunningGateway, sub = 'alice@example.com', options: WebSocket.ClientOptions = {}): Promise<FakeTunnel> {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken(sub)}` }, options);
  open.push(tunnel);
  return tunnel;
}

/** Sends a frame the gateway answers with a known error, and returns every frame that came before that answer. */
async function framesUntilMarker(tunnel: FakeTunnel): Promise<Frame[]> {
  tunnel.send({ type: 'marker' });
  await tunnel.next((f) => f.type === 'error' && f.message === 'Unknown message type: marker');
  return tunnel.frames.splice(0);
}

afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(open);
});

describe('message types', () => {
  let gw: RunningGateway;
  let admin: string;
  const getSession = async (id: string) => http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${id}`, { token: admin });

  beforeAll(async () => {
    gw = await startGateway({ HANDSHAKE_TIMEOUT_MS: '3000' });
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  test('register with capabilities -> register_ack, then register_complete; the session is ready', async () => {
    const tunnel = await connect(gw);
    const server = { name: 'with-caps', version: '1.0.0', capabilities: { tools: {} }, protocol: 'stdio' };
    tunnel.send({ type: 'register', server });
    const ack = await tunnel.next();
    expect(ack).toEqual({
      type: 'register_ack',
      sessionId: expect.stringMatching(/^[0-9a-f]{32}$/),
      status: 'success',
      mcpUrl: `${gw.httpUrl}/servers/with-caps/mcp`,
    });
    const complete = await tunnel.next();
    expect(complete).toEqual({ type: 'register_complete', sessionId: ack.sessionId, status: 'success' });
    const session = await getSession(ack.sessionId);
    expect(session.body).toMatchObject({ session_id: ack.sessionId, name: 'with-caps', state: 'ready', server_info: server });
  });

  test('register drops unknown server fields and accepts any protocol value and a client sessionId', async () => {
    const tunnel = await connect(gw);
    tunnel.send({
      type: 'register',
      sessionId: 'from-an-old-client',
      server: { name: 'extras', protocol: 'something-new', capabilities: {}, secret: 'x', nested: { deep: 1 } },
    });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    expect(ack.status).toBe('success');
    await tunnel.next((f) => f.type === 'register_complete');
    expect((await getSession(ack.sessionId)).body.server_info).toEqual({ name: 'extras', protocol: 'something-new', capabilities: {} });
  });

  test('register without a name gets one from the gateway', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    expect(ack.status).toBe('success');
    expect((await getSession(ack.sessionId)).body.name).toBe(`tunnel-${ack.sessionId.slice(0, 8)}`);
  });

  test('register with a bad server is refused with an error frame naming the field; the session stays up', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'bad name!' } });
    const error = await tunnel.next();
    expect(error.type).toBe('error');
    expect(error.message).toMatch(/^server\.name /);
    tunnel.send({ type: 'register', server: { name: 'good-name', capabilities: {} } });
    expect((await tunnel.next((f) => f.type === 'register_ack')).status).toBe('success');
  });

  test('register without capabilities: the gateway runs the MCP handshake through the tunnel and caches the result', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'no-caps', protocol: 'stdio' } });
    const ack = await tunnel.next();
    expect(ack).toMatchObject({ type: 'register_ack', status: 'success' });

    const init = await tunnel.next();
    expect(init).toMatchObject({ type: 'request', sessionId: ack.sessionId, payload: { jsonrpc: '2.0', method: 'initialize' } });
    expect(init.payload.params).toMatchObject({
      protocolVersion: expect.any(String),
      capabilities: {},
      clientInfo: { name: expect.any(String) },
    });
    expect(init.payload.id).toBeDefined();

    const result = {
      protocolVersion: '2025-06-18',
      capabilities: { tools: { listChanged: true }, resources: {} },
      serverInfo: { name: 'everything', version: '2.0.0' },
      instructions: 'Be nice',
    };
    tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: init.payload.id, result } });

    const initialized = await tunnel.next();
    expect(initialized).toEqual({
      type: 'request',
      sessionId: ack.sessionId,
      payload: { jsonrpc: '2.0', method: 'notifications/initialized' },
    });
    const complete = await tunnel.next();
    expect(complete).toEqual({ type: 'register_complete', sessionId: ack.sessionId, status: 'success' });

    const session = await getSession(ack.sessionId);
    expect(session.body.state).toBe('ready');
    expect(session.body.server_info).toEqual({ name: 'no-caps', protocol: 'stdio', ...result });
  });

  test('a handshake the local server refuses ends in register_complete with status error', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'refuses-init' } });
    await tunnel.next((f) => f.type === 'register_ack');
    const init = await tunnel.next((f) => f.type === 'request');
    tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: init.payload.id, error: { code: -32603, message: 'nope' } } });
    const complete = await tunnel.next((f) => f.type === 'register_complete');
    expect(complete).toMatchObject({ status: 'error', message: expect.any(String) });
    expect(complete.message).not.toMatch(/nope|at \w+ \(/);
    // Reachable for raw calls, but not announced as ready.
    const details = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${complete.sessionId}`, {
      token: gw.mintToken('alice@example.com'),
    });
    expect(details.body.state).toBe('registered');
  });

  test('an initialize result over the register.server caps is refused, not cached', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'bloated' } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    const init = await tunnel.next((f) => f.type === 'request');
    const capabilities = { tools: {}, experimental: { blob: 'x'.repeat(20_000) } };
    tunnel.send({
      type: 'response',
      payload: { jsonrpc: '2.0', id: init.payload.id, result: { protocolVersion: '2025-06-18', capabilities } },
    });
    const complete = await tunnel.next((f) => f.type === 'register_complete');
    expect(complete).toEqual({
      type: 'register_complete',
      sessionId: ack.sessionId,
      status: 'error',
      message: "The local server's capabilities is larger than 16384 bytes",
    });
    expect((await getSession(ack.sessionId)).body.server_info.capabilities).toBeUndefined();
    expect(tunnel.frames.some((f) => f.payload?.method === 'notifications/initialized')).toBe(false);
  });

  test('a second register on the same connection gets an error frame; the first registration stands', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'once', capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    await tunnel.next((f) => f.type === 'register_complete');
    tunnel.send({ type: 'register', server: { name: 'twice', capabilities: {} } });
    const error = await tunnel.next();
    expect(error).toEqual({ type: 'error', message: 'Already registered on this connection' });
    expect((await getSession(ack.sessionId)).body.name).toBe('once');
    expect(tunnel.ws.readyState).toBe(WebSocket.OPEN);
  });

  test('heartbeat is answered with the session id and a timestamp', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'beats', capabilities: {} } });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    tunnel.send({ type: 'heartbeat', sessionId: 'ignored', timestamp: 'whenever' });
    const beat = await tunnel.next((f) => f.type === 'heartbeat');
    expect(beat).toEqual({ type: 'heartbeat', sessionId: ack.sessionId, timestamp: expect.any(String) });
    expect(new Date(beat.timestamp).toISOString()).toBe(beat.timestamp);
  });

  test('heartbeats get at most one reply per second, so an echoing client cannot start a storm', async () => {
    const tunnel = await connect(gw);
    for (let i = 0; i < 20; i++) tunnel.send({ type: 'heartbeat' });
    const before = await framesUntilMarker(tunnel);
    expect(before.filter((f) => f.type === 'heartbeat')).toHaveLength(1);
  });

  test('heartbeat works before register', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'heartbeat' });
    expect((await tunnel.next()).type).toBe('heartbeat');
  });

  test('unregister ends the session', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'leaving',
      capabilities: {},
    });
    open.push(tunnel);
    tunnel.send({ type: 'unregister', sessionId });
    expect(await tunnel.closed).toBe(1000);
    expect((await getSession(sessionId)).status).toBe(404);
  });

  test('invalid JSON gets {type:"error", message:"Invalid JSON format"} and the session stays up', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'typo',
      capabilities: {},
    });
    open.push(tunnel);
    tunnel.send('{"type": "heartbeat"');
    expect(await tunnel.next()).toEqual({ type: 'error', message: 'Invalid JSON format' });
    tunnel.send('not json at all');
    expect(await tunnel.next()).toEqual({ type: 'error', message: 'Invalid JSON format' });
    expect((await getSession(sessionId)).status).toBe(200);
    tunnel.send({ type: 'heartbeat' });
    expect((await tunnel.next()).type).toBe('heartbeat');
  });

  test.each([
    [{ type: 'subscribe' }, 'Unknown message type: subscribe'],
    [{ type: 'register_ack' }, 'Unknown message type: register_ack'],
    [{ hello: 'world' }, 'Frame has no "type" field'],
    [[1, 2, 3], 'Frame must be a JSON object'],
    [{ type: 'response' }, '"response" frame needs an object "payload"'],
    [{ type: 'notification', payload: 'x' }, '"notification" frame needs an object "payload"'],
    [{ type: 'response', payload: { not: 'json-rpc' } }, '"response" payload is not a JSON-RPC message'],
    [{ type: 'request', payload: { jsonrpc: '2.0', id: {}, method: 'x' } }, '"request" payload is not a JSON-RPC message'],
  ])('%j gets an error frame naming the problem; the session stays up', async (frame, message) => {
    const tunnel = await connect(gw);
    tunnel.send(frame);
    expect(await tunnel.next()).toEqual({ type: 'error', message });
    tunnel.send({ type: 'heartbeat' });
    expect((await tunnel.next()).type).toBe('heartbeat');
  });

  test('an error frame from the tunnel is logged, not answered', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'error', message: 'local server crashed' });
    expect(await framesUntilMarker(tunnel)).toEqual([]);
  });

  test('responses nobody waits for are dropped silently, even before register', async () => {
    const tunnel = await connect(gw);
    // One reference client sends its own initialize before registering; its answer comes up the tunnel.
    tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: {} } } });
    tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: 'gw-999999', result: {} } });
    expect(await framesUntilMarker(tunnel)).toEqual([]);
    tunnel.send({ type: 'register', server: { name: 'after-own-init', capabilities: {} } });
    expect((await tunnel.next((f) => f.type === 'register_ack')).status).toBe('success');
  });

  test('a `response` frame whose payload has method and id is routed as a server-to-client request', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'asks',
      capabilities: {},
    });
    open.push(tunnel);
    const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${admin}` });
    streams.push(sse);
    await sse.next((e) => e.event === 'connected');
    const ask = { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } };
    tunnel.send({ type: 'response', payload: ask });
    expect(json(await sse.next((e) => e.event !== 'keepalive'))).toEqual(ask);
    expect(sse.events.at(-1)?.event).toBe('request');
    // Notifications and `request` frames are routed by what they are, too.
    const note = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
    tunnel.send({ type: 'notification', payload: note });
    const noteEvent = await sse.next((e) => e.event !== 'keepalive');
    expect([noteEvent.event, json(noteEvent)]).toEqual(['notification', note]);
    const roots = { jsonrpc: '2.0', id: 5, method: 'roots/list' };
    tunnel.send({ type: 'request', payload: roots, authentication: 'x', authType: 'bearer' });
    const rootsEvent = await sse.next((e) => e.event !== 'keepalive');
    expect([rootsEvent.event, json(rootsEvent)]).toEqual(['request', roots]);
    expect(await framesUntilMarker(tunnel)).toEqual([]);
  });

  test('session counters count frames and bytes both ways', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'counted',
      capabilities: {},
    });
    open.push(tunnel);
    const before = (await getSession(sessionId)).body;
    // In: register. Out: register_ack, register_complete.
    expect(before.message_count).toBe(3);
    expect(before.bytes_in).toBe(Buffer.byteLength(JSON.stringify({ type: 'register', server: { name: 'counted', capabilities: {} } })));
    expect(before.bytes_out).toBeGreaterThan(0);
    expect(before.bytes_transferred).toBe(before.bytes_in + before.bytes_out);
    tunnel.send({ type: 'heartbeat' });
    await tunnel.next((f) => f.type === 'heartbeat');
    const after = (await getSession(sessionId)).body;
    expect(after.message_count).toBe(5);
    expect(after.bytes_in).toBe(before.bytes_in + Buffer.byteLength('{"type":"heartbeat"}'));
  });
});

describe('server names', () => {
  let gw: RunningGateway;
  let admin: string;
  beforeAll(async () => {
    gw = await startGateway();
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  test('a name held by another user is refused in register_ack, and that tunnel is closed', async () => {
    const { tunnel: first } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'shared',
      capabilities: {},
    });
    open.push(first);
    const second = await connect(gw, 'bob@example.com');
    second.send({ type: 'register', server: { name: 'shared', capabilities: {} } });
    const ack = await second.next();
    expect(ack).toEqual({
      type: 'register_ack',
      sessionId: expect.any(String),
      status: 'error',
      message: 'Server name "shared" is already in use by another user',
    });
    expect(await second.closed).toBe(1008);
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    const list = (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: admin })).body;
    expect(list.sessions.map((s: { name: string; user: string }) => [s.name, s.user])).toEqual([['shared', 'alice@example.com']]);
  });

  test('the same owner registering the name again takes it over and the old tunnel is closed', async () => {
    const token = gw.mintToken('carol@example.com');
    const old = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'mine', capabilities: {} });
    open.push(old.tunnel);
    const fresh = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'mine', capabilities: {} });
    open.push(fresh.tunnel);
    expect(await old.tunnel.closed).toBe(TunnelCloseCode.Replaced);
    expect(old.tunnel.closeReason).toBe('replaced');
    const list = (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token })).body;
    expect(list.sessions.map((s: { session_id: string; name: string }) => [s.session_id, s.name])).toEqual([[fresh.sessionId, 'mine']]);
    expect(fresh.tunnel.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('limits', () => {
  let gw: RunningGateway;
  let admin: string;
  beforeAll(async () => {
    gw = await startGateway({ MAX_FRAME_BYTES: '2048' });
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  test('a frame over MAX_FRAME_BYTES closes the tunnel with 1009 and removes the session', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'), {
      name: 'big',
      capabilities: {},
    });
    open.push(tunnel);
    tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x', params: { blob: 'x'.repeat(1500) } } });
    tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x', params: { blob: 'x'.repeat(3000) } } });
    expect(await tunnel.closed).toBe(1009);
    await eventually(
      async () => (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: admin })).status === 404,
      'the session to go',
    );
  });
});

describe('handshake timeout', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ HANDSHAKE_TIMEOUT_MS: '200' });
  });
  afterAll(() => gw.close());

  test('a local server that never answers initialize gets register_complete with status error', async () => {
    const tunnel = await connect(gw);
    tunnel.send({ type: 'register', server: { name: 'mute' } });
    await tunnel.next((f) => f.type === 'register_ack');
    const init = await tunnel.next((f) => f.type === 'request');
    const complete = await tunnel.next((f) => f.type === 'register_complete');
    expect(complete).toMatchObject({ status: 'error', message: 'The local server did not complete the MCP handshake' });
    // The server is told to give up on the initialize it never answered.
    const cancelled = tunnel.frames.find((f) => f.payload?.method === 'notifications/cancelled');
    expect(cancelled?.payload.params.requestId).toBe(init.payload.id);
  });
});

describe('dead peers', () => {
  let gw: RunningGateway;
  let admin: string;
  beforeAll(async () => {
    gw = await startGateway({ PING_INTERVAL_MS: '100', IDLE_TIMEOUT_MS: '300' });
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  test('a peer that stops answering pings is dropped and its session removed; a live one stays', async () => {
    const silent = await connect(gw, 'alice@example.com', { autoPong: false });
    silent.send({ type: 'register', server: { name: 'silent', capabilities: {} } });
    const ack = await silent.next((f) => f.type === 'register_ack');
    const live = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('bob@example.com'), { name: 'live', capabilities: {} });
    open.push(live.tunnel);

    expect(await silent.closed).toBe(1006);
    const list = (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: admin })).body;
    expect(list.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([live.sessionId]);
    expect(list.sessions[0].session_id).not.toBe(ack.sessionId);
    expect(live.tunnel.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('shutdown', () => {
  test('closing the gateway closes tunnels with 1012 (restarting, come back now) and ends SSE streams with closed', async () => {
    const gw = await startGateway();
    const token = gw.mintToken('alice@example.com');
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'shutdown', capabilities: {} });
    open.push(tunnel);
    const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
    streams.push(sse);
    await sse.next((e) => e.event === 'connected');
    await gw.close();
    expect(await tunnel.closed).toBe(1012);
    expect(tunnel.closeReason).toBe('gateway shutting down');
    const closed = await sse.next((e) => e.event === 'closed');
    expect(json(closed)).toEqual({ sessionId, reason: 'gateway shutting down' });
    await sse.ended;
  });
});
