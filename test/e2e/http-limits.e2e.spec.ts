import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { json, SseStream } from '../support/sse.js';
import { frameText } from '../../src/protocol/frame-text.js';

const REQUEST_TIMEOUT_MS = 1000;
/** Past the request timeout and Node's check of it (at most a quarter of it later), with room to spare. */
const WELL_PAST_TIMEOUT_MS = 2500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HTTP timeouts', () => {
  let gw: RunningGateway;
  let token: string;
  const sockets: RawSocket[] = [];
  const open = async () => {
    const socket = await RawSocket.open(gw.port);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    gw = await startGateway({
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEPALIVE_TIMEOUT_MS: '300',
      SSE_KEEPALIVE_MS: '200',
    });
    token = gw.mintToken('alice@example.com');
  });
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
  afterAll(() => gw.close());

  test('an authenticated client sending its body slowly is cut off by the request timeout (408)', async () => {
    const socket = await open();
    socket.write(
      'POST /reverse-proxy/sessions/0123456789abcdef0123456789abcdef/request HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":`,
    );
    socket.dribble(100);
    expect(await socket.closesWithin(REQUEST_TIMEOUT_MS + 2000)).toBe(true);
    expect(socket.received).toMatch(/^HTTP\/1\.1 408/);
    expect(socket.closedAt! - socket.openedAt).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
  });

  test('a client sending its headers slowly is cut off too', async () => {
    const socket = await open();
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    socket.dribble(100);
    expect(await socket.closesWithin(REQUEST_TIMEOUT_MS + 2000)).toBe(true);
  });

  test('an idle keep-alive connection is closed after HTTP_KEEPALIVE_TIMEOUT_MS', async () => {
    const socket = await open();
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // Node waits 1 s longer than it advertises, so a client never reuses a socket being closed (Fastify's default: 72 s).
    expect(await socket.closesWithin(300 + 1000 + 700)).toBe(true);
    expect(socket.received).toMatch(/^HTTP\/1\.1 200/);
  });

  test('long-lived answers outlive the request timeout: admin SSE, MCP GET stream, a slow call, the tunnel WebSocket', async () => {
    const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, token, {
      name: 'long-lived',
      capabilities: { tools: { listChanged: true } },
    });
    try {
      // A call its server answers only after the timeout: the request was complete long before.
      tunnel.ws.on('message', (data) => {
        const frame = JSON.parse(frameText(data));
        if (frame.type === 'request' && frame.payload?.method === 'tools/list') {
          setTimeout(
            () => tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: frame.payload.id, result: { tools: [] } } }),
            WELL_PAST_TIMEOUT_MS,
          );
        }
      });
      const slowCall = http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
        token,
        body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      });

      const adminSse = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionId}`, { Authorization: `Bearer ${token}` });
      expect(adminSse.status).toBe(200);

      const mcpHeaders = {
        Authorization: `Bearer ${token}`,
        Accept: 'application/json, text/event-stream',
        'Content-Type': 'application/json',
      };
      const init = await fetch(`${gw.httpUrl}/servers/long-lived/mcp`, {
        method: 'POST',
        headers: mcpHeaders,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        }),
      });
      const mcpSession = init.headers.get('mcp-session-id')!;
      await init.text();
      const mcpStream = await SseStream.open(`${gw.httpUrl}/servers/long-lived/mcp`, {
        Authorization: `Bearer ${token}`,
        'Mcp-Session-Id': mcpSession,
        'MCP-Protocol-Version': '2025-11-25',
      });
      expect(mcpStream.status).toBe(200);

      await sleep(WELL_PAST_TIMEOUT_MS);

      const note = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
      tunnel.send({ type: 'notification', payload: note });
      expect(json(await adminSse.next((e) => e.event === 'notification'))).toEqual(note);
      expect(json(await mcpStream.next())).toMatchObject({ method: 'notifications/tools/list_changed' });
      tunnel.send({ type: 'heartbeat' });
      expect((await tunnel.next((f) => f.type === 'heartbeat')).sessionId).toBe(sessionId);
      const answered = await slowCall;
      expect([answered.status, answered.body.result]).toEqual([200, { tools: [] }]);
      await Promise.all([adminSse.close(), mcpStream.close()]);
    } finally {
      await tunnel.close();
    }
  });
});

describe('HTTP_MAX_CONNECTIONS', () => {
  let gw: RunningGateway;
  const sockets: RawSocket[] = [];
  beforeAll(async () => {
    gw = await startGateway({ HTTP_MAX_CONNECTIONS: '2' });
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await gw.close();
  });

  test('connections past the cap are dropped at once; a freed slot is usable again', async () => {
    for (let i = 0; i < 2; i++) sockets.push(await RawSocket.open(gw.port));
    const extra = await RawSocket.open(gw.port);
    sockets.push(extra);
    extra.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await extra.closesWithin(1000)).toBe(true);
    expect(extra.received).toBe('');
    sockets[0].destroy();
    await sockets[0].closed;
    await sleep(50);
    const next = await RawSocket.open(gw.port);
    sockets.push(next);
    next.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await next.closesWithin(1000);
    expect(next.received).toMatch(/^HTTP\/1\.1 200/);
  });
});
