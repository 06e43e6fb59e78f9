import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { signToken } from '../../src/auth/sign-token.js';
import { JsonRpcErrorCode } from '../../src/protocol/json-rpc.js';
import { FakeTunnel, type Frame } from '../support/fake-tunnel.js';
import { startGateway, startGatewayProcess, TEST_SECRET, type GatewayProcess, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { SseStream } from '../support/sse.js';
import { eventually } from '../support/wait.js';
import { initializeByHand, streamableHeaders } from '../support/raw-mcp.js';

/**
 * Shutting down drains: readiness fails and new work is refused at once, calls in flight get
 * SHUTDOWN_GRACE_MS to finish, the rest are answered with an error (REST 503, MCP a JSON-RPC error
 * in its stream), then the tunnels are closed with 1012 (restarting: their clients come back at once, to another replica).
 */

const GRACE_MS = 1500;
const SHUTTING_DOWN = 'The gateway is shutting down';

const isCall = (name: string) => (f: Frame) =>
  f.type === 'request' && f.payload?.method === 'tools/call' && f.payload.params?.name === name;
const toolCall = (id: string, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name } });

interface Gateway {
  httpUrl: string;
  tunnelUrl: string;
  token: string;
}

/** Puts a REST call, a REST call answered during the drain and an MCP call in flight on `gw`; `shutDown` starts the drain. */
async function drainWithCallsInFlight(gw: Gateway, shutDown: () => Promise<unknown>): Promise<void> {
  const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, gw.token, {
    name: 'draining',
    version: '1',
    capabilities: { tools: {} },
  });
  try {
    const mcp = await openMcpSession(gw, 'draining');
    const url = `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`;
    const restHanging = http('POST', url, { token: gw.token, body: toolCall('hang', 'hang') });
    const restAnswered = http('POST', url, { token: gw.token, body: toolCall('quick', 'quick') });
    // Raw, to see exactly what the stream carries.
    const mcpHanging = mcp.post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'mcp-hang', arguments: {} } });
    await tunnel.next(isCall('hang'));
    const quick = await tunnel.next(isCall('quick'));
    await tunnel.next(isCall('mcp-hang'));

    const started = Date.now();
    const closing = shutDown();

    // Readiness fails first, while the calls are still given their grace.
    const ready = await eventually(async () => {
      const res = await http('GET', `${gw.httpUrl}/ready`);
      return res.status === 503 ? res : undefined;
    }, '/ready to answer 503');
    expect(ready.body.message).toBe(SHUTTING_DOWN);
    // New calls and new tunnels are refused.
    const refused = await http('POST', url, { token: gw.token, body: toolCall('late', 'late') });
    expect(refused.status).toBe(503);
    expect(refused.body.message).toBe(SHUTTING_DOWN);
    await expect(FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.token}` })).rejects.toMatchObject({ status: 503 });

    // A call answered within the grace period gets its real answer.
    tunnel.send({
      type: 'response',
      payload: { jsonrpc: '2.0', id: quick.payload.id, result: { content: [{ type: 'text', text: 'done' }] } },
    });
    const answered = await restAnswered;
    expect(answered.status).toBe(200);
    expect(answered.body).toEqual({ jsonrpc: '2.0', id: 'quick', result: { content: [{ type: 'text', text: 'done' }] } });

    // The rest are answered with an error once the grace period is over.
    const hanging = await restHanging;
    expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(hanging.status).toBe(503);
    expect(hanging.body.message).toBe(SHUTTING_DOWN);
    const res = await mcpHanging;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const stream = SseStream.from(res);
    const event = await stream.next((e) => e.data.includes('"jsonrpc"'));
    expect(JSON.parse(event.data)).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: JsonRpcErrorCode.TunnelClosed, message: SHUTTING_DOWN },
    });
    await stream.close();
    // The server was told to stop working on them.
    await eventually(() => tunnel.frames.filter((f) => f.payload?.method === 'notifications/cancelled').length === 2, 'two cancellations');

    await closing;
    expect(await tunnel.closed).toBe(1012);
  } finally {
    tunnel.ws.terminate();
  }
}

describe('app.close()', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ SHUTDOWN_GRACE_MS: String(GRACE_MS) });
  });

  test('drains calls in flight before closing', async () => {
    await drainWithCallsInFlight({ ...gw, token: gw.mintToken('alice@example.com') }, () => gw.close());
  });
});

describe('SIGTERM to the gateway process (dist/main.js)', () => {
  const main = resolve('dist/main.js');
  let gateway: GatewayProcess | undefined;
  afterAll(() => gateway?.kill());

  (existsSync(main) ? test : test.skip)('drains calls in flight, then exits', async () => {
    gateway = await startGatewayProcess({ LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    const { httpUrl, tunnelUrl, child } = gateway;
    const token = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: '1h' });
    await drainWithCallsInFlight({ httpUrl, tunnelUrl, token }, async () => {
      child.kill('SIGTERM');
    });
    expect(await gateway.exited).toBe('SIGTERM');
  });
});

/** An initialized Streamable HTTP session, spoken by hand. */
async function openMcpSession(gw: Gateway, name: string): Promise<{ post: (body: unknown) => Promise<Response> }> {
  const url = `${gw.httpUrl}/servers/${name}/mcp`;
  const { response: init, sessionHeaders: session } = await initializeByHand(url, streamableHeaders(gw.token));
  expect(init.status).toBe(200);
  await init.text();
  const post = (body: unknown) => fetch(url, { method: 'POST', headers: session, body: JSON.stringify(body) });
  const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(initialized.status).toBe(202);
  return { post };
}
