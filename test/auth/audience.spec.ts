import { audienceScope, scopeAllows, serverResource } from '../../src/auth/audience.js';

const BASE = 'https://mcp.example.com';
const derived = { audiences: [BASE], resourceBase: BASE };
const explicit = { audiences: ['api://gateway', 'gw2'], resourceBase: undefined };

test.each([
  ['the public URL', BASE, derived, '/reverse-proxy/sessions', true],
  ['the public URL with a trailing slash', `${BASE}/`, derived, '/servers/a/mcp', true],
  ['one of several, in an array', ['other', BASE], derived, '/reverse-proxy/ws', true],
  ["a server's resource, on its MCP door", serverResource(BASE, 'a'), derived, '/servers/a/mcp', true],
  ["a server's resource, on its legacy SSE doors", serverResource(BASE, 'a'), derived, '/servers/a/messages?sessionId=1', true],
  ["a server's SSE resource, on its legacy SSE stream", `${BASE}/servers/a/sse`, derived, '/servers/a/sse', true],
  ["a server's SSE resource, on another server", `${BASE}/servers/a/sse`, derived, '/servers/b/sse', false],
  ['a resource of another kind under the server', `${BASE}/servers/a/messages`, derived, '/servers/a/messages', false],
  ["a server's resource, percent-encoded on the door", serverResource(BASE, 'a b'), derived, '/servers/a%20b/mcp', true],
  ["a server's resource, on another server", serverResource(BASE, 'a'), derived, '/servers/b/mcp', false],
  ["a server's resource, on the admin API", serverResource(BASE, 'a'), derived, '/reverse-proxy/sessions', false],
  ["a server's resource, on the tunnel", serverResource(BASE, 'a'), derived, '/reverse-proxy/ws', false],
  ['another host', 'https://evil.example.com', derived, '/servers/a/mcp', false],
  ['a look-alike prefix', `${BASE}.evil.com/servers/a/mcp`, derived, '/servers/a/mcp', false],
  ["another server's resource under this one's path", `${BASE}/servers/a/b/mcp`, derived, '/servers/a/mcp', false],
  ['no audience', undefined, derived, '/servers/a/mcp', false],
  ['a number', 42, derived, '/servers/a/mcp', false],
  ['an explicit audience', 'gw2', explicit, '/reverse-proxy/sessions', true],
  ["a server's resource when JWT_AUDIENCE is set", serverResource(BASE, 'a'), explicit, '/servers/a/mcp', false],
  ['anything when no audience is configured', 'whatever', { audiences: [], resourceBase: undefined }, '/x', true],
])('%s: %s', (_what, aud, rules, url, allowed) => {
  expect(scopeAllows(audienceScope(aud, rules), url)).toBe(allowed);
});

test('an aud array is read only up to MAX_AUDIENCES entries', () => {
  expect(scopeAllows(audienceScope([...Array(32).fill('x'), BASE], derived), '/x')).toBe(false);
  expect(scopeAllows(audienceScope([...Array(31).fill('x'), BASE], derived), '/x')).toBe(true);
});
