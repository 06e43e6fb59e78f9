import { FakeTunnel } from '../../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { rawHttp } from '../../support/raw-http.js';

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const mcpHeaders = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

describe('auth off, loopback gateway', () => {
  let gw: RunningGateway;
  let tunnel: FakeTunnel;
  beforeAll(async () => {
    gw = await startGateway({ AUTH_REQUIRED: 'false' });
    ({ tunnel } = await FakeTunnel.register(gw.tunnelUrl, undefined, { name: 'shared', capabilities: { tools: {} } }));
  });
  afterAll(async () => {
    await tunnel.close();
    await gw.close();
  });

  const post = (headers: Record<string, string>) =>
    rawHttp(`${gw.httpUrl}/servers/shared/mcp`, { method: 'POST', headers: { ...mcpHeaders, ...headers }, body: initialize });

  test('a rebound page (Host and Origin both evil.example.com) is refused with 403 and opens no session', async () => {
    const res = await post({ Host: 'evil.example.com', Origin: 'http://evil.example.com' });
    expect(res.status).toBe(403);
    // Every error of an MCP door is JSON-RPC shaped, the guards' refusals included.
    expect(JSON.parse(res.text)).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: 'Invalid Host: evil.example.com' }, id: null });
    expect(res.headers['mcp-session-id']).toBeUndefined();
  });

  test('the same with the right port is refused too; the legacy SSE door as well', async () => {
    expect((await post({ Host: `evil.example.com:${gw.port}` })).status).toBe(403);
    const sse = await rawHttp(`${gw.httpUrl}/servers/shared/sse`, { headers: { Host: 'evil.example.com', Accept: 'text/event-stream' } });
    expect(sse.status).toBe(403);
    const messages = await rawHttp(`${gw.httpUrl}/servers/shared/messages?sessionId=x`, {
      method: 'POST',
      headers: { ...mcpHeaders, Host: 'evil.example.com' },
      body: '{}',
    });
    expect(messages.status).toBe(403);
  });

  test('loopback Host with a foreign Origin matching nothing allowed: 403', async () => {
    expect((await post({ Host: `127.0.0.1:${gw.port}`, Origin: 'http://evil.example.com' })).status).toBe(403);
  });

  test("the gateway's own loopback names are served", async () => {
    for (const host of [`127.0.0.1:${gw.port}`, `localhost:${gw.port}`]) {
      const res = await post({ Host: host, Origin: `http://${host}` });
      expect(res.status).toBe(200);
      expect(res.headers['mcp-session-id']).toBeDefined();
    }
  });

  test('the catalog never hands out a forged Host: it falls back to localhost on the listening port', async () => {
    const forged = JSON.parse((await rawHttp(`${gw.httpUrl}/servers`, { headers: { Host: 'evil.example.com' } })).text);
    expect(forged.servers[0].url).toBe(`http://localhost:${gw.port}/servers/shared/mcp`);
    const own = JSON.parse((await rawHttp(`${gw.httpUrl}/servers`)).text);
    expect(own.servers[0]).toMatchObject({ url: `${gw.httpUrl}/servers/shared/mcp`, sse_url: `${gw.httpUrl}/servers/shared/sse` });
  });
});

describe('PUBLIC_URL and ALLOWED_HOSTS', () => {
  let gw: RunningGateway;
  let tunnel: FakeTunnel;
  beforeAll(async () => {
    gw = await startGateway({ AUTH_REQUIRED: 'false', PUBLIC_URL: 'https://mcp.example.com', ALLOWED_HOSTS: 'gw.internal' });
    ({ tunnel } = await FakeTunnel.register(gw.tunnelUrl, undefined, { name: 'shared', capabilities: { tools: {} } }));
  });
  afterAll(async () => {
    await tunnel.close();
    await gw.close();
  });

  test('the catalog builds its URLs from PUBLIC_URL, whatever Host says', async () => {
    for (const host of ['evil.example.com', `127.0.0.1:${gw.port}`]) {
      const body = JSON.parse((await rawHttp(`${gw.httpUrl}/servers`, { headers: { Host: host } })).text);
      expect(body.servers[0]).toMatchObject({
        url: 'https://mcp.example.com/servers/shared/mcp',
        sse_url: 'https://mcp.example.com/servers/shared/sse',
      });
    }
  });

  test("the public URL's host and the listed hosts reach the MCP doors; the public origin is allowed", async () => {
    const post = (headers: Record<string, string>) =>
      rawHttp(`${gw.httpUrl}/servers/shared/mcp`, { method: 'POST', headers: { ...mcpHeaders, ...headers }, body: initialize });
    expect((await post({ Host: 'mcp.example.com', Origin: 'https://mcp.example.com' })).status).toBe(200);
    expect((await post({ Host: 'gw.internal:8080' })).status).toBe(200);
    expect((await post({ Host: 'evil.example.com', Origin: 'https://mcp.example.com' })).status).toBe(403);
  });
});
