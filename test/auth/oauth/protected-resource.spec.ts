import { ProtectedResource } from '../../../src/auth/oauth/protected-resource.js';
import { loadConfig } from '../../../src/config/app-config.js';
import { PACKAGE_INFO } from '../../../src/config/package-info.js';

const GW = 'https://gw.example.com';
const AS = 'https://login.example.com/realms/mcp';
const META = `${GW}/.well-known/oauth-protected-resource`;

function resource(env: Record<string, string> = {}): ProtectedResource {
  return new ProtectedResource(loadConfig({ JWT_SECRET: 'a-secret-of-sixteen+', PUBLIC_URL: GW, OAUTH_AUTHORIZATION_SERVERS: AS, ...env }));
}

describe('metadata documents', () => {
  test("the gateway's: the resource is PUBLIC_URL; tokens in the header only", () => {
    expect(resource({ OAUTH_SCOPES: 'mcp', OAUTH_RESOURCE_DOCUMENTATION: 'https://docs.example' }).metadata()).toEqual({
      resource: GW,
      authorization_servers: [AS],
      scopes_supported: ['mcp'],
      bearer_methods_supported: ['header'],
      resource_name: PACKAGE_INFO.name,
      resource_documentation: 'https://docs.example',
    });
  });

  test("an MCP endpoint's: the resource is the URL the client connects to (what the SDK checks it against)", () => {
    expect(resource().metadata({ name: 'files', door: 'mcp' })).toEqual({
      resource: `${GW}/servers/files/mcp`,
      authorization_servers: [AS],
      bearer_methods_supported: ['header'],
      resource_name: `files (${PACKAGE_INFO.name})`,
    });
    expect(resource().metadata({ name: 'files', door: 'sse' })?.resource).toBe(`${GW}/servers/files/sse`);
  });

  test.each(['', '.hidden', 'a b', 'a/b', '%2e%2e', 'x'.repeat(129)])('no document for a name no tunnel could register: %j', (name) => {
    expect(resource().metadata({ name, door: 'mcp' })).toBeUndefined();
  });

  test('none at all while OAUTH_AUTHORIZATION_SERVERS is unset', () => {
    const off = new ProtectedResource(loadConfig({ JWT_SECRET: 'a-secret-of-sixteen+', PUBLIC_URL: GW }));
    expect([off.enabled, off.metadata(), off.metadata({ name: 'files', door: 'mcp' })]).toEqual([false, undefined, undefined]);
  });
});

describe('challenge hints: the metadata of the resource the refused request was for', () => {
  test.each([
    ['/servers/files/mcp', `${META}/servers/files/mcp`],
    ['/servers/files/mcp/', `${META}/servers/files/mcp`],
    ['/servers/files/mcp?token=x', `${META}/servers/files/mcp`],
    ['/servers/files/sse', `${META}/servers/files/sse`],
    // The legacy door's POSTs belong to its SSE endpoint.
    ['/servers/files/messages?sessionId=1', `${META}/servers/files/sse`],
    ['/reverse-proxy/ws', META],
    ['/reverse-proxy/sessions', META],
    ['/servers', META],
    ['/servers/a%20b/mcp', META],
    ['/servers/files/mcp/extra', META],
    ['/servers/files/tools', META],
    [undefined, META],
  ])('%s -> %s', (url, metadataUrl) => {
    expect(resource().challengeHints(url)).toEqual({ resource_metadata: metadataUrl });
  });

  test('the scope, space-separated, when configured', () => {
    expect(resource({ OAUTH_SCOPES: 'mcp,openid' }).challengeHints('/x')).toEqual({ resource_metadata: META, scope: 'mcp openid' });
  });

  test('nothing while no metadata is published', () => {
    const off = new ProtectedResource(loadConfig({ JWT_SECRET: 'a-secret-of-sixteen+', PUBLIC_URL: GW }));
    expect(off.challengeHints('/servers/files/mcp')).toEqual({});
  });
});
