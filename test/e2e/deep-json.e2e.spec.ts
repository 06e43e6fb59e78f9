import { FakeTunnel, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { json, parseSse, SseStream } from '../support/sse.js';
import { frameText } from '../../src/protocol/frame-text.js';
import { initializeByHand, streamableHeaders } from '../support/raw-mcp.js';

/**
 * JSON nested past MAX_JSON_DEPTH, from every side: tunnel frames, REST bodies, MCP bodies. Before
 * the limit, JSON.parse accepted it and a later JSON.stringify overflowed the stack: the process
 * died (register, SSE), a call hung (MCP params) or was answered with an empty stream (MCP result).
 */
let gw: RunningGateway;
let alice: string;
const open: FakeTunnel[] = [];
const streams: SseStream[] = [];

/** `depth` nested arrays around 1. */
const arrays = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);
/** A JSON value of exactly `depth` levels. */
const nested = (depth: number): unknown => JSON.parse(arrays(depth));

beforeAll(async () => {
  gw = await startGateway({ AUTH_REQUIRED: 'false', MAX_JSON_DEPTH: '64', MAX_FRAME_BYTES: String(64 * 1024) });
  alice = gw.mintToken('alice@example.com');
});
afterAll(() => gw.close());
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await closeTunnels(open);
});

async function register(name: string) {
  const result = await FakeTunnel.register(gw.tunnelUrl, alice, { name, capabilities: { tools: {} } });
  open.push(result.tunnel);
  return result;
}

async function stillServes(tunnel: FakeTunnel): Promise<void> {
  tunnel.send({ type: 'heartbeat' });
  expect((await tunnel.next((f) => f.type === 'heartbeat')).type).toBe('heartbeat');
}

const request = (sessionId: string, body: unknown, raw?: string) =>
  http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, { token: alice, ...(raw ? { rawBody: raw } : { body }) });

test('a register whose capabilities nest 5,000 deep gets an error frame; the connection can register properly after', async () => {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${alice}` });
  open.push(tunnel);
  tunnel.send(`{"type":"register","server":{"name":"deep-register","capabilities":{"x":${arrays(5000)}}}}`);
  expect(await tunnel.next()).toEqual({ type: 'error', message: 'Frame nests deeper than 64 levels' });
  tunnel.send({ type: 'register', server: { name: 'deep-register', capabilities: { tools: {} } } });
  expect(await tunnel.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success' });
  expect((await http('GET', `${gw.httpUrl}/health`)).status).toBe(200);
});

test('a deep notification while an SSE stream follows the session: error frame, stream and session carry on', async () => {
  const { tunnel, sessionId } = await register('deep-sse');
  const sse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${alice}` });
  streams.push(sse);
  await sse.next((e) => e.event === 'connected');
  tunnel.send(`{"type":"notification","payload":{"jsonrpc":"2.0","method":"notifications/message","params":{"x":${arrays(5000)}}}}`);
  expect(await tunnel.next()).toEqual({ type: 'error', message: 'Frame nests deeper than 64 levels' });
  const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after' } };
  tunnel.send({ type: 'notification', payload: note });
  expect(json(await sse.next((e) => e.event === 'notification'))).toEqual(note);
  await stillServes(tunnel);
});

test('MAX_JSON_DEPTH applies to the JSON-RPC message: a request and an answer nested exactly that deep go through', async () => {
  const { tunnel, sessionId } = await register('deep-at-limit');
  // {jsonrpc, id, result: [[...]]}: the message is one level deeper than its result.
  tunnel.autoAnswer((payload) => ({ result: nested(63), echo: payload.params }));
  const res = await request(sessionId, { jsonrpc: '2.0', id: 1, method: 'x', params: { a: nested(62) } });
  expect(res.status).toBe(200);
  expect(res.body.result).toEqual(nested(63));
});

test('a deep answer to a call in flight fails that call at once with a JSON-RPC error; the session stays up', async () => {
  const { tunnel, sessionId } = await register('deep-answer');
  tunnel.ws.on('message', (data) => {
    const frame = JSON.parse(frameText(data));
    if (frame.type === 'request' && frame.payload.id !== undefined) {
      tunnel.send(`{"type":"response","payload":{"jsonrpc":"2.0","id":${JSON.stringify(frame.payload.id)},"result":${arrays(6000)}}}`);
    }
  });
  const started = Date.now();
  const res = await request(sessionId, { jsonrpc: '2.0', id: 'mine', method: 'tools/call', params: { name: 'x' } });
  expect(Date.now() - started).toBeLessThan(2000);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    jsonrpc: '2.0',
    id: 'mine',
    error: { code: -32603, message: "The server's answer nests deeper than 64 levels" },
  });
  expect(await tunnel.next((f) => f.type === 'error')).toEqual({ type: 'error', message: 'Frame nests deeper than 64 levels' });
  await stillServes(tunnel);
});

test('a REST body nested past the limit gets 400 with a fixed text', async () => {
  const { sessionId } = await register('deep-rest');
  const res = await request(sessionId, undefined, `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${arrays(6000)}}}`);
  expect(res.status).toBe(400);
  expect(res.body).toEqual({
    statusCode: 400,
    error: 'Bad Request',
    message: 'Request body nests arrays or objects too deeply',
    detail: 'Request body nests arrays or objects too deeply',
  });
  // One level inside the limit is still a body.
  expect((await request(sessionId, undefined, `{"jsonrpc":"2.0","method":"n","params":${arrays(63)}}`)).status).toBe(202);
});

describe('the MCP door', () => {
  let headers: Record<string, string>;
  beforeAll(() => {
    headers = streamableHeaders(alice);
  });

  async function openMcpSession(name: string): Promise<Record<string, string>> {
    const { response: init, sessionHeaders } = await initializeByHand(`${gw.httpUrl}/servers/${name}/mcp`, headers);
    expect(init.status).toBe(200);
    await init.text();
    return sessionHeaders;
  }

  test('tools/call with params nested 6,000 deep: 400 at once, as a JSON-RPC error -32600', async () => {
    await register('deep-mcp-params');
    const session = await openMcpSession('deep-mcp-params');
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":${arrays(6000)}}}}`;
    const res = await fetch(`${gw.httpUrl}/servers/deep-mcp-params/mcp`, {
      method: 'POST',
      headers: session,
      body,
      signal: AbortSignal.timeout(3000),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Request body nests arrays or objects too deeply' },
      id: null,
    });
  });

  test('invalid JSON on the MCP door is a JSON-RPC parse error', async () => {
    const res = await fetch(`${gw.httpUrl}/servers/anything/mcp`, { method: 'POST', headers, body: '{"jsonrpc":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Request body is not valid JSON' }, id: null });
  });

  test('a deep result from the tunnel reaches the MCP caller as a JSON-RPC error, not an empty stream', async () => {
    const { tunnel } = await register('deep-mcp-result');
    tunnel.ws.on('message', (data) => {
      const frame = JSON.parse(frameText(data));
      if (frame.type === 'request' && frame.payload.method === 'tools/call') {
        tunnel.send(
          `{"type":"response","payload":{"jsonrpc":"2.0","id":${JSON.stringify(frame.payload.id)},"result":{"content":${arrays(6000)}}}}`,
        );
      }
    });
    const session = await openMcpSession('deep-mcp-result');
    const res = await fetch(`${gw.httpUrl}/servers/deep-mcp-result/mcp`, {
      method: 'POST',
      headers: { ...session, Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x', arguments: {} } }),
      signal: AbortSignal.timeout(3000),
    });
    const text = await res.text();
    const data = parseSse(text)
      .filter((e) => e.data !== '')
      .map(json);
    const answer = data.length > 0 ? data[data.length - 1] : JSON.parse(text);
    expect(answer).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32603, message: "The server's answer nests deeper than 64 levels" },
    });
  });
});

test('a frame over MAX_FRAME_BYTES fails the calls in flight as "frame too large", not "disconnected"', async () => {
  const { tunnel, sessionId } = await register('too-large');
  const call = request(sessionId, { jsonrpc: '2.0', id: 1, method: 'slow' });
  await tunnel.next((f) => f.type === 'request');
  tunnel.send({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x', params: { blob: 'x'.repeat(70 * 1024) } } });
  const res = await call;
  expect(res.status).toBe(502);
  expect(res.body.message).toBe('The tunnel closed (frame too large)');
});

test('a 14-byte frame header claiming a huge length: "frame too large" too', async () => {
  const { tunnel, sessionId } = await register('huge-header');
  const call = request(sessionId, { jsonrpc: '2.0', id: 1, method: 'slow' });
  await tunnel.next((f) => f.type === 'request');
  // FIN + text, masked, 64-bit length 2^44, mask key; no payload follows.
  (tunnel.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(
    Buffer.from([0x81, 0xff, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
  );
  const res = await call;
  expect(res.body.message).toBe('The tunnel closed (frame too large)');
});
