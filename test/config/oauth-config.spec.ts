import { loadConfig } from '../../src/config/app-config.js';
import { configProblems as problems } from '../support/config-problems.js';

const BASE = { JWT_SECRET: 'a-secret-of-sixteen+', PUBLIC_URL: 'https://mcp.example.com' };

test('no OAUTH_AUTHORIZATION_SERVERS: no metadata, whatever the other OAUTH_* say', () => {
  expect(loadConfig({ ...BASE, OAUTH_SCOPES: 'mcp' }).oauth).toBeUndefined();
});

test('reads the authorization servers as written, the scopes (commas or spaces) and the documentation page', () => {
  const { oauth } = loadConfig({
    ...BASE,
    OAUTH_AUTHORIZATION_SERVERS: ' https://login.example.com/realms/mcp , https://other.example ',
    OAUTH_SCOPES: 'mcp:tools, openid profile',
    OAUTH_RESOURCE_DOCUMENTATION: 'https://docs.example.com/mcp',
  });
  expect(oauth).toEqual({
    // Not normalised: an issuer identifier is compared as a string, so a trailing slash must not appear.
    authorizationServers: ['https://login.example.com/realms/mcp', 'https://other.example'],
    scopes: ['mcp:tools', 'openid', 'profile'],
    resourceDocumentation: 'https://docs.example.com/mcp',
  });
});

test('PUBLIC_URL is required: it is the resource identifier', () => {
  expect(problems({ JWT_SECRET: BASE.JWT_SECRET, OAUTH_AUTHORIZATION_SERVERS: 'https://login.example.com' })).toEqual([
    expect.stringMatching(/^PUBLIC_URL is required with OAUTH_AUTHORIZATION_SERVERS/),
  ]);
});

test('authentication must be on: metadata for a gateway that takes no tokens would mislead clients', () => {
  expect(problems({ ...BASE, AUTH_REQUIRED: 'false', OAUTH_AUTHORIZATION_SERVERS: 'https://login.example.com' })).toEqual([
    'OAUTH_AUTHORIZATION_SERVERS needs authentication on (AUTH_REQUIRED=true or MCP_CLIENT_AUTH_ENABLED=true)',
  ]);
});

test.each([
  'login.example.com',
  'ftp://login.example.com',
  'https://u:p@login.example.com',
  'https://login.example.com/?a=1',
  'https://x/#f',
  'https://x/a"b',
])('OAUTH_AUTHORIZATION_SERVERS refuses %s', (value) => {
  expect(problems({ ...BASE, OAUTH_AUTHORIZATION_SERVERS: value })).toEqual([
    expect.stringContaining('OAUTH_AUTHORIZATION_SERVERS must list issuer URLs'),
  ]);
});

test('a scope with a quote or a backslash, which a challenge could not carry, and a bad documentation URL are refused', () => {
  expect(
    problems({
      ...BASE,
      OAUTH_AUTHORIZATION_SERVERS: 'https://login.example.com',
      OAUTH_SCOPES: 'ok a"b c\\d',
      OAUTH_RESOURCE_DOCUMENTATION: 'docs',
    }),
  ).toEqual([
    'OAUTH_SCOPES must list scope names without quotes or backslashes (got "a"b")',
    'OAUTH_SCOPES must list scope names without quotes or backslashes (got "c\\d")',
    'OAUTH_RESOURCE_DOCUMENTATION must be an http(s) URL with no query or credentials (got "docs")',
  ]);
});
