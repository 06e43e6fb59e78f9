/**
 * RFC 6750 §3: every 401 the gateway answers carries `WWW-Authenticate: Bearer`, with
 * `error="invalid_token"` when a token was presented and refused, on every door: the admin REST
 * API and its SSE stream, the MCP doors (Streamable HTTP and legacy SSE), the catalog, unknown
 * routes, the tunnel upgrade, and /metrics when it answers a 401.
 */
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { rawUpgrade } from '../support/raw-upgrade.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.close());

const DOORS: [string, string][] = [
  ['GET', '/reverse-proxy/sessions'],
  ['GET', '/reverse-proxy/sessions/abc'],
  ['DELETE', '/reverse-proxy/sessions/abc'],
  ['POST', '/reverse-proxy/sessions/abc/request'],
  ['GET', '/reverse-proxy/sse/abc'],
  ['GET', '/servers'],
  ['POST', '/servers/x/mcp'],
  ['GET', '/servers/x/mcp'],
  ['DELETE', '/servers/x/mcp'],
  ['GET', '/servers/x/sse'],
  ['POST', '/servers/x/messages?sessionId=abc'],
  ['GET', '/nope'],
];

/** Credentials a caller may present, and the challenge each 401 must carry. */
const CASES: [string, () => Record<string, string>, string][] = [
  ['no credentials', () => ({}), 'Bearer'],
  ['a malformed token', () => ({ Authorization: 'Bearer not-a-jwt' }), 'Bearer error="invalid_token"'],
  [
    'an expired token',
    () => ({ Authorization: `Bearer ${gw.mintToken('alice@example.com', { expiresIn: -10 })}` }),
    'Bearer error="invalid_token"',
  ],
];

describe.each(CASES)('with %s', (_what, headers, challenge) => {
  test.each(DOORS)(`%s %s: 401 with WWW-Authenticate: ${challenge}`, async (method, path) => {
    const body = method === 'POST' ? { jsonrpc: '2.0', id: 1, method: 'ping' } : undefined;
    const res = await http(method, `${gw.httpUrl}${path}`, { headers: headers(), body });
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([401, challenge]);
  });

  test(`the tunnel upgrade: 401 with WWW-Authenticate: ${challenge}`, async () => {
    expect(await rawUpgrade(gw.tunnelUrl, headers())).toMatchObject({ status: 401, challenge });
  });

  test('/metrics, if it answers 401, carries the challenge too', async () => {
    const res = await http('GET', `${gw.httpUrl}/metrics`, { headers: headers() });
    if (res.status === 401) expect(res.headers.get('www-authenticate')).toBe(challenge);
  });
});

test('a valid token is not challenged; public routes never are', async () => {
  const ok = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: gw.mintToken('alice@example.com') });
  expect([ok.status, ok.headers.get('www-authenticate')]).toEqual([200, null]);
  const health = await http('GET', `${gw.httpUrl}/health`);
  expect([health.status, health.headers.get('www-authenticate')]).toEqual([200, null]);
});
