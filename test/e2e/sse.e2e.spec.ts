import { get, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { SessionRegistry } from '../../src/reverse-proxy/tunnel/session-registry.js';
import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { json, parseSse, SseStream } from '../support/sse.js';
import { eventually } from '../support/wait.js';

let gw: RunningGateway;
let alice: string;
const open: FakeTunnel[] = [];
const streams: SseStream[] = [];

beforeAll(async () => {
  gw = await startGateway({ SSE_KEEPALIVE_MS: '100' });
  alice = gw.mintToken('alice@example.com');
});
afterAll(() => gw.close());
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(open);
});

async function register(name: string, token = alice) {
  const result = await FakeTunnel.register(gw.tunnelUrl, token, { name, version: '3.1.0', capabilities: { tools: {} } });
  open.push(result.tunnel);
  return result;
}

async function subscribe(sessionId: string, headers: Record<string, string> = { Authorization: `Bearer ${alice}` }, query = '') {
  const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}${query}`, headers);
  streams.push(sse);
  return sse;
}

const notKeepalive = (e: { event: string }) => e.event !== 'keepalive';

test('the stream is text/event-stream and starts with connected {sessionId, serverInfo}', async () => {
  const { sessionId } = await register('sse-connected');
  const sse = await subscribe(sessionId);
  expect(sse.status).toBe(200);
  expect(sse.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const first = await sse.next();
  expect(first.event).toBe('connected');
  expect(json(first)).toEqual({ sessionId, serverInfo: { name: 'sse-connected', version: '3.1.0', capabilities: { tools: {} } } });
  expect(sse.events[0]).toBe(first);
});

test('response, notification and request events carry the JSON-RPC payloads from the tunnel', async () => {
  const { tunnel, sessionId } = await register('sse-events');
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');

  const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello' } };
  tunnel.send({ type: 'notification', payload: note });
  const noteEvent = await sse.next(notKeepalive);
  expect([noteEvent.event, json(noteEvent)]).toEqual(['notification', note]);

  const ask = { jsonrpc: '2.0', id: 'srv-9', method: 'elicitation/create', params: { message: 'Name?' } };
  tunnel.send({ type: 'request', payload: ask });
  const askEvent = await sse.next(notKeepalive);
  expect([askEvent.event, json(askEvent)]).toEqual(['request', ask]);

  const sent = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request?wait=false`, {
    token: alice,
    body: { jsonrpc: '2.0', id: 77, method: 'tools/list' },
  });
  expect(sent.status).toBe(202);
  const req = await tunnel.next((f) => f.type === 'request');
  // The call itself, as its caller sent it, then its answer.
  const call = await sse.next(notKeepalive);
  expect([call.event, json(call)]).toEqual(['call', { jsonrpc: '2.0', id: 77, method: 'tools/list' }]);
  tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: req.payload.id, result: { tools: [{ name: 'echo' }] } } });
  const answer = await sse.next(notKeepalive);
  expect([answer.event, json(answer)]).toEqual(['response', { jsonrpc: '2.0', id: 77, result: { tools: [{ name: 'echo' }] } }]);
});

test("a waiting caller's answer is published to subscribers too, with the caller id", async () => {
  const { tunnel, sessionId } = await register('sse-mirror');
  tunnel.autoAnswer(() => ({ result: 'mirrored' }));
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: alice,
    body: { jsonrpc: '2.0', id: 'c-1', method: 'x' },
  });
  expect(res.body.result).toBe('mirrored');
  expect(json(await sse.next((e) => e.event === 'response'))).toEqual({ jsonrpc: '2.0', id: 'c-1', result: 'mirrored' });
});

test('unmatched responses do not reach subscribers', async () => {
  const { tunnel, sessionId } = await register('sse-unmatched');
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: 'nobody', result: {} } });
  const marker = { jsonrpc: '2.0', method: 'notifications/marker' };
  tunnel.send({ type: 'notification', payload: marker });
  const next = await sse.next(notKeepalive);
  expect([next.event, json(next)]).toEqual(['notification', marker]);
});

test('keepalive events come at the configured interval with a timestamp', async () => {
  const { sessionId } = await register('sse-keepalive');
  const sse = await subscribe(sessionId);
  const keepalive = await sse.next((e) => e.event === 'keepalive');
  expect(new Date(json(keepalive).timestamp).toISOString()).toBe(json(keepalive).timestamp);
  await sse.next((e) => e.event === 'keepalive');
  expect(sse.events[0].event).toBe('connected');
});

test('closed {sessionId, reason} is the last event when the session ends, then the stream ends', async () => {
  const { sessionId } = await register('sse-closed');
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  const deleted = await http('DELETE', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: alice });
  expect(deleted.status).toBe(200);
  const closed = await sse.next((e) => e.event === 'closed');
  expect(json(closed)).toEqual({ sessionId, reason: expect.any(String) });
  await sse.ended;
  expect(sse.events.at(-1)).toBe(closed);
});

test('the stream ends when the tunnel goes away', async () => {
  const { tunnel, sessionId } = await register('sse-tunnel-gone');
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  tunnel.ws.terminate();
  const closed = await sse.next((e) => e.event === 'closed');
  expect(json(closed).sessionId).toBe(sessionId);
  await sse.ended;
  expect(sse.events.at(-1)?.event).toBe('closed');
});

test('several subscribers each get every event', async () => {
  const { tunnel, sessionId } = await register('sse-fanout');
  const a = await subscribe(sessionId);
  const b = await subscribe(sessionId);
  await Promise.all([a.next((e) => e.event === 'connected'), b.next((e) => e.event === 'connected')]);
  const note = { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } };
  tunnel.send({ type: 'notification', payload: note });
  expect(json(await a.next(notKeepalive))).toEqual(note);
  expect(json(await b.next(notKeepalive))).toEqual(note);
});

test('a subscriber that leaves does not disturb the session', async () => {
  const { tunnel, sessionId } = await register('sse-leaver');
  tunnel.autoAnswer(() => ({ result: 'ok' }));
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  await sse.close();
  const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: alice,
    body: { jsonrpc: '2.0', id: 1, method: 'x' },
  });
  expect(res.body.result).toBe('ok');
});

test('a subscriber that leaves is unsubscribed from the session', async () => {
  const { sessionId } = await register('sse-unsubscribe');
  const session = gw.app.get(SessionRegistry).get(sessionId)!;
  // The session's event Subject; each SSE stream subscribes to it while it lasts.
  const observers = () => (session as unknown as { events: { observers: unknown[] } }).events.observers.length;
  const before = observers();
  const sse = await subscribe(sessionId);
  await sse.next((e) => e.event === 'connected');
  expect(observers()).toBe(before + 1);
  await sse.close();
  await eventually(() => observers() === before, 'the stream to unsubscribe');
});

test('a subscriber that does not read is dropped instead of buffering without bound; the session stays up', async () => {
  const { tunnel, sessionId } = await register('sse-slow');
  const session = gw.app.get(SessionRegistry).get(sessionId)!;
  const observers = () => (session as unknown as { events: { observers: unknown[] } }).events.observers.length;
  const before = observers();
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = get(
      `${gw.httpUrl}/reverse-proxy/sse/${sessionId}`,
      { headers: { Authorization: `Bearer ${alice}`, Accept: 'text/event-stream' } },
      resolve,
    );
    req.on('error', reject);
  });
  expect(res.statusCode).toBe(200);
  res.pause();
  await eventually(() => observers() === before + 1, 'the stream to subscribe');
  // Far more than the stream may hold for one client, in events of 256 KiB; stop once it is dropped.
  const blob = 'x'.repeat(256 * 1024);
  let sent = 0;
  while (observers() > before && sent < 200) {
    tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/blob', params: { blob } } });
    sent++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await eventually(() => observers() === before, 'the slow subscriber to be dropped');
  // What reached the client before the drop is readable; then the stream ends.
  let received = 0;
  res.on('data', (chunk: Buffer) => (received += chunk.length));
  res.resume();
  await new Promise((resolve) => res.socket.once('close', resolve));
  expect(received).toBeLessThan(sent * blob.length);
  expect(tunnel.ws.readyState).toBe(WebSocket.OPEN);
  expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: alice })).status).toBe(200);
}, 20000);

describe('access', () => {
  test('no token: 401', async () => {
    const { sessionId } = await register('sse-401');
    const sse = await subscribe(sessionId, {});
    expect(sse.status).toBe(401);
  });

  test('?token= works, as EventSource cannot send headers', async () => {
    const { sessionId } = await register('sse-query');
    const sse = await subscribe(sessionId, {}, `?token=${encodeURIComponent(alice)}`);
    expect(sse.status).toBe(200);
    expect((await sse.next()).event).toBe('connected');
  });

  test("another user's session: 403 Not authorized for this session", async () => {
    const { sessionId } = await register('sse-403');
    const sse = await subscribe(sessionId, { Authorization: `Bearer ${gw.mintToken('bob@example.com')}` });
    expect(sse.status).toBe(403);
    expect(await sse.text).toMatch(/Not authorized for this session/);
  });

  test('an admin may subscribe to any session', async () => {
    const { sessionId } = await register('sse-admin');
    const sse = await subscribe(sessionId, { Authorization: `Bearer ${gw.mintToken('root@example.com', { admin: true })}` });
    expect(sse.status).toBe(200);
  });

  test('unknown session: 404 Session <id> not found', async () => {
    const sse = await subscribe('abcdefabcdefabcdefabcdefabcdefab');
    expect(sse.status).toBe(404);
    expect(JSON.parse(await sse.text).message).toBe('Session abcdefabcdefabcdefabcdefabcdefab not found');
  });
});

describe('a subscriber that falls behind', () => {
  let small: RunningGateway;
  beforeAll(async () => {
    small = await startGateway({ SSE_MAX_BACKLOG: '2' });
  });
  afterAll(() => small.close());

  test('gets a dropped event and the stream ends, while the session stays up', async () => {
    const token = small.mintToken('alice@example.com');
    const { tunnel, sessionId } = await FakeTunnel.register(small.tunnelUrl, token, { name: 'sse-lagging', capabilities: {} });
    const session = small.app.get(SessionRegistry).get(sessionId)!;
    const observers = () => (session as unknown as { events: { observers: unknown[] } }).events.observers.length;
    const before = observers();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(`${small.httpUrl}/reverse-proxy/sse/${sessionId}`, { headers: { Authorization: `Bearer ${token}` } }, resolve);
      req.on('error', reject);
    });
    res.pause();
    await eventually(() => observers() === before + 1, 'the stream to subscribe');
    // Events of 64 KiB soon back the response up; the stream then gives up after SSE_MAX_BACKLOG more.
    const blob = 'x'.repeat(64 * 1024);
    for (let sent = 0; observers() > before && sent < 400; sent++) {
      tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/blob', params: { blob } } });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(observers()).toBe(before);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.resume();
    await new Promise((resolve) => res.once('end', resolve));
    const events = parseSse(text).map((e) => e.event);
    expect(events.at(-1)).toBe('dropped');
    expect(text).toContain('The client did not keep up with the events');
    expect(tunnel.ws.readyState).toBe(WebSocket.OPEN);
    await tunnel.close();
  }, 20000);
});

describe('server requests nobody can answer', () => {
  test('without an SSE subscriber the server gets a JSON-RPC error at once, and a ping is answered', async () => {
    const { tunnel } = await register('unheard');
    tunnel.send({ type: 'request', payload: { jsonrpc: '2.0', id: 'srv-1', method: 'roots/list' } });
    const refusal = await tunnel.next((f) => f.type === 'request' && f.payload?.id === 'srv-1');
    expect(refusal.payload).toEqual({
      jsonrpc: '2.0',
      id: 'srv-1',
      error: { code: -32601, message: 'No client connected through the gateway can handle roots/list right now' },
    });
    tunnel.send({ type: 'request', payload: { jsonrpc: '2.0', id: 'srv-2', method: 'ping' } });
    const pong = await tunnel.next((f) => f.type === 'request' && f.payload?.id === 'srv-2');
    expect(pong.payload).toEqual({ jsonrpc: '2.0', id: 'srv-2', result: {} });
  });

  test('with an SSE subscriber the request is published for it to answer, not refused', async () => {
    const { tunnel, sessionId } = await register('heard');
    const sse = await subscribe(sessionId);
    await sse.next((e) => e.event === 'connected');
    tunnel.send({ type: 'request', payload: { jsonrpc: '2.0', id: 'srv-3', method: 'roots/list' } });
    const event = await sse.next((e) => e.event === 'request');
    expect(json(event)).toEqual({ jsonrpc: '2.0', id: 'srv-3', method: 'roots/list' });
    expect(tunnel.frames.some((f) => f.type === 'request' && f.payload?.id === 'srv-3')).toBe(false);
  });
});
