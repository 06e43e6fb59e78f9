import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { rawHttp } from '../support/raw-http.js';

/**
 * Every error of `/servers/:name/mcp`, `/servers/:name/sse` and `/servers/:name/messages` is a
 * JSON-RPC error `{jsonrpc: '2.0', error: {code, message}, id: null}` with the HTTP status telling
 * what happened, like the SDK transports' own refusals: also the ones decided before a transport is
 * involved (unknown server, someone else's server, Host/Origin, session caps).
 */

const initialize = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const REVISION = '2026-07-28';
const statelessListTools = {
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/list',
  params: { _meta: { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientCapabilities': {} } },
};

interface Answer {
  status: number;
  body: unknown;
  contentType: string | null;
}

async function call(
  gw: RunningGateway,
  path: string,
  init: RequestInit & { token?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const { token, headers, ...rest } = init;
  const res = await fetch(`${gw.httpUrl}${path}`, {
    ...rest,
    headers: {
      Accept: 'application/json, text/event-stream',
      ...(rest.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type');
  return { status: res.status, body: contentType?.startsWith('application/json') ? JSON.parse(text) : text, contentType };
}

const postMcp = (
  gw: RunningGateway,
  name: string,
  token: string | undefined,
  body: unknown = initialize,
  headers: Record<string, string> = {},
) => call(gw, `/servers/${name}/mcp`, { method: 'POST', token, body: JSON.stringify(body), headers });
const openSse = (gw: RunningGateway, name: string, token: string | undefined, headers: Record<string, string> = {}) =>
  call(gw, `/servers/${name}/sse`, { method: 'GET', token, headers: { Accept: 'text/event-stream', ...headers } });
const postStateless = (gw: RunningGateway, name: string, token: string | undefined) =>
  postMcp(gw, name, token, statelessListTools, { 'MCP-Protocol-Version': REVISION, 'Mcp-Method': 'tools/list' });

const jsonRpcError = (message: string | RegExp, code = -32000) => ({
  jsonrpc: '2.0',
  error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) },
  id: null,
});

describe('with auth', () => {
  let gw: RunningGateway;
  let tunnel: FakeTunnel;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    gw = await startGateway({ MCP_ALLOWED_ORIGINS: 'https://inspector.example' });
    alice = gw.mintToken('alice@example.com');
    bob = gw.mintToken('bob@example.com');
    ({ tunnel } = await FakeTunnel.register(gw.tunnelUrl, alice, { name: 'alices', capabilities: { tools: {} } }));
  });
  afterAll(async () => {
    await tunnel.close();
    await gw.close();
  });

  test('an unknown name: 404, JSON-RPC shaped, on every door and both eras', async () => {
    const expected = { status: 404, body: jsonRpcError('Server nobody-here not found') };
    expect(await postMcp(gw, 'nobody-here', alice)).toMatchObject(expected);
    expect(await postStateless(gw, 'nobody-here', alice)).toMatchObject(expected);
    expect(await openSse(gw, 'nobody-here', alice)).toMatchObject(expected);
  });

  test("someone else's server: 403, JSON-RPC shaped, on every door and both eras", async () => {
    const expected = { status: 403, body: jsonRpcError('Not authorized for this server') };
    expect(await postMcp(gw, 'alices', bob)).toMatchObject(expected);
    expect(await postStateless(gw, 'alices', bob)).toMatchObject(expected);
    expect(await openSse(gw, 'alices', bob)).toMatchObject(expected);
  });

  test('a foreign Origin or Host: 403, JSON-RPC shaped (the guards run before the door)', async () => {
    const origin = await postMcp(gw, 'alices', alice, initialize, { Origin: 'http://evil.example.com' });
    expect(origin).toMatchObject({ status: 403, body: jsonRpcError('Origin not allowed') });
    // fetch will not send a forged Host.
    const host = await rawHttp(`${gw.httpUrl}/servers/alices/sse`, {
      headers: { Host: 'evil.example.com', Accept: 'text/event-stream', Authorization: `Bearer ${alice}` },
    });
    expect({ status: host.status, body: JSON.parse(host.text) }).toEqual({
      status: 403,
      body: jsonRpcError('Invalid Host: evil.example.com'),
    });
    const messages = await call(gw, '/servers/alices/messages?sessionId=x', {
      method: 'POST',
      token: alice,
      body: '{}',
      headers: { Origin: 'http://evil.example.com' },
    });
    expect(messages).toMatchObject({ status: 403, body: jsonRpcError('Origin not allowed') });
    expect(origin.contentType).toMatch(/^application\/json/);
  });

  test('a 401 from the auth hook keeps the gateway shape (clients go by the status)', async () => {
    const res = await postMcp(gw, 'alices', undefined);
    expect(res).toMatchObject({ status: 401, body: { statusCode: 401, error: 'Unauthorized' } });
  });

  test('a path under /servers that is no MCP door keeps the gateway shape', async () => {
    const unknown = await call(gw, '/servers/alices/nothing-here', { method: 'GET', token: alice });
    expect(unknown).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found' } });
  });
});

describe('session caps', () => {
  let gw: RunningGateway;
  let tunnel: FakeTunnel;

  beforeAll(async () => {
    gw = await startGateway({ MCP_MAX_SESSIONS_PER_USER: '1', MCP_MAX_SESSIONS: '2' });
    ({ tunnel } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('owner@example.com'), {
      name: 'capped',
      capabilities: { tools: {} },
    }));
  });
  afterAll(async () => {
    await tunnel.close();
    await gw.close();
  });

  test('over the per-user cap 429, over the global cap 503: both JSON-RPC shaped, on both doors', async () => {
    const alice = gw.mintToken('alice@example.com', { admin: true });
    const bob = gw.mintToken('bob@example.com', { admin: true });
    const carol = gw.mintToken('carol@example.com', { admin: true });
    expect((await postMcp(gw, 'capped', alice)).status).toBe(200);
    const perUser = { status: 429, body: jsonRpcError('Too many MCP sessions for this user (limit 1); end some first') };
    expect(await postMcp(gw, 'capped', alice)).toMatchObject(perUser);
    expect(await openSse(gw, 'capped', alice)).toMatchObject(perUser);

    expect((await postMcp(gw, 'capped', bob)).status).toBe(200);
    const full = { status: 503, body: jsonRpcError('Too many MCP sessions on this gateway; try again later') };
    expect(await postMcp(gw, 'capped', carol)).toMatchObject(full);
    expect(await openSse(gw, 'capped', carol)).toMatchObject(full);
  });
});
