import { startGateway, type RunningGateway } from '../support/gateway.js';
import { createTestServer, type TestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';
import { eventually } from '../support/wait.js';

/** Raw Streamable HTTP calls, so tests see status, headers and timing as a client gets them. */
function post(
  gw: RunningGateway,
  name: string,
  token: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${gw.httpUrl}/servers/${name}/mcp`, {
    method: 'POST',
    headers: {
      Accept: 'application/json, text/event-stream',
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const initialize = (protocolVersion: string) => ({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** Initializes a session of `protocolVersion`; resolves with the response (its body read). */
async function open(
  gw: RunningGateway,
  name: string,
  token: string | undefined,
  protocolVersion = '2025-06-18',
): Promise<{ status: number; id: string | null; text: string }> {
  const res = await post(gw, name, token, initialize(protocolVersion));
  return { status: res.status, id: res.headers.get('mcp-session-id'), text: await res.text() };
}

describe('per-user session cap', () => {
  let gw: RunningGateway;
  let tunnelled: TunnelledServer;

  beforeAll(async () => {
    gw = await startGateway({ MCP_MAX_SESSIONS_PER_USER: '3', MCP_MAX_SESSIONS: '5' });
    tunnelled = await serveThroughTunnel(
      gw.tunnelUrl,
      gw.mintToken('owner@example.com', { admin: true }),
      'capped',
      createTestServer().server,
    );
  });
  afterAll(async () => {
    await tunnelled.close();
    await gw.close();
  });

  test('one user past the cap gets 429; others still get in; ending a session frees a place; the global cap stays 503', async () => {
    const alice = gw.mintToken('alice@example.com', { admin: true });
    const bob = gw.mintToken('bob@example.com', { admin: true });
    const carol = gw.mintToken('carol@example.com', { admin: true });
    const mine = [await open(gw, 'capped', alice), await open(gw, 'capped', alice), await open(gw, 'capped', alice)];
    expect(mine.map((s) => s.status)).toEqual([200, 200, 200]);
    const refused = await open(gw, 'capped', alice);
    expect(refused.status).toBe(429);
    expect(refused.text).toMatch(/Too many MCP sessions for this user/);
    // The legacy door counts against the same cap.
    expect((await fetch(`${gw.httpUrl}/servers/capped/sse`, { headers: { Authorization: `Bearer ${alice}` } })).status).toBe(429);

    expect((await open(gw, 'capped', bob)).status).toBe(200);
    const del = await fetch(`${gw.httpUrl}/servers/capped/mcp`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${alice}`, 'mcp-session-id': mine[0].id!, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(del.status).toBe(200);
    expect((await open(gw, 'capped', alice)).status).toBe(200);
    // 3 + 1 + 1 = 5 = MCP_MAX_SESSIONS: the gateway is full for everyone, which is 503.
    expect((await open(gw, 'capped', bob)).status).toBe(200);
    const full = await open(gw, 'capped', carol);
    expect(full.status).toBe(503);
  });
});

describe('per-user session cap with authentication off', () => {
  let gw: RunningGateway;
  let tunnelled: TunnelledServer;

  beforeAll(async () => {
    gw = await startGateway({ AUTH_REQUIRED: 'false', MCP_MAX_SESSIONS_PER_USER: '2' });
    tunnelled = await serveThroughTunnel(gw.tunnelUrl, undefined, 'open', createTestServer().server);
  });
  afterAll(async () => {
    await tunnelled.close();
    await gw.close();
  });

  test('every anonymous client counts under one key', async () => {
    expect((await open(gw, 'open', undefined)).status).toBe(200);
    expect((await open(gw, 'open', undefined)).status).toBe(200);
    expect((await open(gw, 'open', undefined)).status).toBe(429);
  });
});

describe('a POST answered over SSE', () => {
  let gw: RunningGateway;
  let token: string;
  let test_: TestServer;
  let tunnelled: TunnelledServer;

  beforeAll(async () => {
    // No keep-alive comment during the test, which would carry the headers out after its interval.
    gw = await startGateway({ SSE_KEEPALIVE_MS: '600000', MCP_ANSWER_WAIT_MS: '50' });
    token = gw.mintToken('slowtool@example.com');
    test_ = createTestServer();
    tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'slow', test_.server);
  });
  afterAll(async () => {
    await tunnelled.close();
    await gw.close();
  });

  for (const version of ['2025-03-26', '2025-06-18']) {
    test(`sends its headers while a slow tool is still running (${version}: no priming event)`, async () => {
      const { id } = await open(gw, 'slow', token, version);
      const headers = { 'mcp-session-id': id!, 'mcp-protocol-version': version };
      await post(gw, 'slow', token, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
      const started = performance.now();
      const responding = post(
        gw,
        'slow',
        token,
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hold', arguments: {} } },
        headers,
      );
      const held = await test_.nextHeld();
      // The tool is released only after the headers came: waiting for it would never end.
      const res = await responding;
      // Measured for the report, not asserted: the point is that nothing waited for the tool.
      const msToHeaders = performance.now() - started;
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      held.release('finally');
      expect(await res.text()).toContain('finally');
      if (process.env.MEASURE) process.stderr.write(`time to headers (${version}): ${msToHeaders.toFixed(1)} ms\n`);
    });
  }

  test('once delivered whole, its events are not kept for resumption (a stream cut short is: see session-lifecycle)', async () => {
    const version = '2025-11-25';
    const { id } = await open(gw, 'slow', token, version);
    const headers = { 'mcp-session-id': id!, 'mcp-protocol-version': version };
    await post(gw, 'slow', token, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    // A call still running after the answer wait gets an SSE stream (a quick one is answered as JSON).
    const responding = post(
      gw,
      'slow',
      token,
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hold', arguments: {} } },
      headers,
    );
    const held = await test_.nextHeld();
    const res = await responding;
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    held.release('x'.repeat(10_000));
    const text = await res.text();
    const eventIds = [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]);
    expect(eventIds.length).toBeGreaterThanOrEqual(2); // the priming event and the answer
    // The answer's stream was delivered: resuming after its priming event finds nothing kept.
    const status = await eventually(async () => {
      const resume = await fetch(`${gw.httpUrl}/servers/slow/mcp`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', 'Last-Event-ID': eventIds[0], ...headers },
      });
      await resume.body?.cancel();
      return resume.status === 400 ? resume.status : undefined;
    }, 'the delivered stream to be forgotten');
    expect(status).toBe(400);
  });
});
