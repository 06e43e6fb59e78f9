/**
 * The gateway as an OAuth protected resource (RFC 9728, MCP authorization 2025-11-25): the metadata
 * documents, public and readable from a browser, and the `resource_metadata` + `scope` every 401
 * carries, pointing at the document of the resource the request was for. The identity provider
 * itself is not needed here (oauth-resource-server.e2e.spec.ts runs a real one).
 */
import { PACKAGE_INFO } from '../../../src/config/package-info.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { rawUpgrade } from '../../support/raw-upgrade.js';

const PUBLIC = 'https://gw.example.com';
const AS = 'https://login.example.com/realms/mcp';
const META = `${PUBLIC}/.well-known/oauth-protected-resource`;

let gw: RunningGateway;
let off: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ PUBLIC_URL: PUBLIC, OAUTH_AUTHORIZATION_SERVERS: AS, OAUTH_SCOPES: 'mcp openid' });
  off = await startGateway({ PUBLIC_URL: PUBLIC });
});
afterAll(async () => {
  await gw?.close();
  await off?.close();
});

describe('metadata documents: public, cacheable, readable from any web page', () => {
  test.each([
    ['/.well-known/oauth-protected-resource', PUBLIC, PACKAGE_INFO.name],
    ['/.well-known/oauth-protected-resource/servers/files/mcp', `${PUBLIC}/servers/files/mcp`, `files (${PACKAGE_INFO.name})`],
    ['/.well-known/oauth-protected-resource/servers/files/sse', `${PUBLIC}/servers/files/sse`, `files (${PACKAGE_INFO.name})`],
  ])('GET %s without credentials', async (path, resource, name) => {
    const res = await http('GET', `${gw.httpUrl}${path}`, { headers: { Origin: 'http://localhost:6274' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.body).toEqual({
      resource,
      authorization_servers: [AS],
      scopes_supported: ['mcp', 'openid'],
      bearer_methods_supported: ['header'],
      resource_name: name,
    });
  });

  test('a server that is not registered gets the same document: strangers learn nothing of which names exist', async () => {
    const res = await http('GET', `${gw.httpUrl}/.well-known/oauth-protected-resource/servers/nobody-has-this/mcp`);
    expect([res.status, res.body.resource]).toEqual([200, `${PUBLIC}/servers/nobody-has-this/mcp`]);
  });

  test.each(['/servers/.hidden/mcp', '/servers/a%20b/mcp', '/servers/-dash/sse'])('no document for %s: 404', async (suffix) => {
    const res = await http('GET', `${gw.httpUrl}/.well-known/oauth-protected-resource${suffix}`);
    expect([res.status, res.body.resource]).toEqual([404, undefined]);
  });

  test.each(['/servers/files/messages', '/servers/files', '/other'])('%s is no route: like any unknown route, 401', async (suffix) => {
    const res = await http('GET', `${gw.httpUrl}/.well-known/oauth-protected-resource${suffix}`);
    expect([res.status, res.body.resource]).toEqual([401, undefined]);
  });

  test.each(['', '/servers/files/mcp', '/servers/files/sse'])(
    "%s: the browser's preflight for the MCP-Protocol-Version header the SDK sends",
    async (suffix) => {
      const res = await http('OPTIONS', `${gw.httpUrl}/.well-known/oauth-protected-resource${suffix}`, {
        headers: {
          Origin: 'http://localhost:6274',
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'mcp-protocol-version',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('mcp-protocol-version');
      expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    },
  );

  test('OAUTH_AUTHORIZATION_SERVERS unset: 404 for every document, which MCP clients read as "no OAuth here"', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/servers/files/mcp']) {
      const res = await http('GET', `${off.httpUrl}${path}`);
      expect([path, res.status, res.body.resource]).toEqual([path, 404, undefined]);
    }
  });
});

describe('every 401 names the metadata of the resource it refused, and the scopes (RFC 9728 §5.1)', () => {
  const DOORS: [string, string, string][] = [
    ['POST', '/servers/files/mcp', `${META}/servers/files/mcp`],
    ['GET', '/servers/files/mcp', `${META}/servers/files/mcp`],
    ['DELETE', '/servers/files/mcp', `${META}/servers/files/mcp`],
    ['GET', '/servers/files/sse', `${META}/servers/files/sse`],
    ['POST', '/servers/files/messages?sessionId=abc', `${META}/servers/files/sse`],
    ['GET', '/servers', META],
    ['GET', '/reverse-proxy/sessions', META],
    ['GET', '/nope', META],
  ];

  test.each(DOORS)('%s %s without credentials', async (method, path, metadataUrl) => {
    const body = method === 'POST' ? { jsonrpc: '2.0', id: 1, method: 'ping' } : undefined;
    const res = await http(method, `${gw.httpUrl}${path}`, { body });
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([
      401,
      `Bearer resource_metadata="${metadataUrl}", scope="mcp openid"`,
    ]);
  });

  test.each(DOORS)('%s %s with a refused token', async (method, path, metadataUrl) => {
    const body = method === 'POST' ? { jsonrpc: '2.0', id: 1, method: 'ping' } : undefined;
    const res = await http(method, `${gw.httpUrl}${path}`, { body, token: 'not-a-jwt' });
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([
      401,
      `Bearer error="invalid_token", resource_metadata="${metadataUrl}", scope="mcp openid"`,
    ]);
  });

  test("the tunnel upgrade's 401 names the gateway's document", async () => {
    expect(await rawUpgrade(gw.tunnelUrl)).toMatchObject({
      status: 401,
      challenge: `Bearer resource_metadata="${META}", scope="mcp openid"`,
    });
  });

  test('a name in the path that no server could have is not echoed into the header', async () => {
    const res = await http('POST', `${gw.httpUrl}/servers/a%22b/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([401, `Bearer resource_metadata="${META}", scope="mcp openid"`]);
  });

  test('metadata off: the challenge is the plain one', async () => {
    const res = await http('POST', `${off.httpUrl}/servers/files/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
  });
});
