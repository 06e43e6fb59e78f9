/**
 * The gateway as an MCP resource server, end to end with a real OpenID provider (`oidc-provider`,
 * test/support/oidc-provider.ts) and the official SDK client, the way an MCP client logs in
 * (MCP authorization, 2025-11-25): an unauthenticated request is refused with a 401 naming the
 * resource metadata; the metadata names the provider; the provider's metadata names its token
 * endpoint; a token asked for the resource opens an MCP session through the gateway to a
 * tunnelled server. Then the provider rotates its signing keys mid-run, and tokens for another
 * resource are refused. The gateway is the built one (dist/main.js), configured only by its environment.
 */
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, startGatewayProcess, type GatewayProcess } from '../../support/gateway.js';
import { startOidcProvider, type RunningOidcProvider } from '../../support/oidc-provider.js';
import { createTestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';
import { eventually } from '../../support/wait.js';

/** The gateway refetches its JWKS for an unknown key id at most this often (JWT_JWKS_COOLDOWN_MS, its minimum). */
const JWKS_COOLDOWN_MS = 1000;

let idp: RunningOidcProvider;
let gw: GatewayProcess;
let publicUrl: string;
let mcpUrl: string;
let tunnelled: TunnelledServer;
const clients: Client[] = [];

/** A client_credentials token from the provider's token endpoint, for `resource` (RFC 8707). */
async function tokenFor(resource: string, tokenEndpoint = `${idp.issuer}/token`): Promise<string> {
  const { clientId, clientSecret, scope } = idp.client;
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** A JWT's header and payload, unverified: what the test asked the provider for. */
function decoded(token: string): { header: { kid?: string }; payload: { aud?: string; iss?: string; sub?: string } } {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, payload };
}

/** An SDK client session on the MCP endpoint with a bearer token. */
async function connectWith(token: string): Promise<Client> {
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  clients.push(client);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
  );
  return client;
}

async function echo(client: Client, text: string): Promise<unknown> {
  return (await client.callTool({ name: 'echo', arguments: { text } })).content;
}

/** A bare `initialize` POST, as an MCP client's first request. */
function initialize(headers: Record<string, string> = {}): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
}

beforeAll(async () => {
  idp = await startOidcProvider();
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  mcpUrl = `${publicUrl}/servers/files/mcp`;
  gw = await startGatewayProcess({
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    // Tokens from the identity provider only: no shared secret.
    JWT_SECRET: '',
    JWT_JWKS_URL: idp.jwksUri,
    JWT_ISSUER: idp.issuer,
    JWT_JWKS_COOLDOWN_MS: String(JWKS_COOLDOWN_MS),
    OAUTH_AUTHORIZATION_SERVERS: idp.issuer,
    OAUTH_SCOPES: idp.client.scope,
    // The start-up block as text on stdout (one test reads it).
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'pretty',
  });
  // The tunnel too is opened with a token from the provider, for the gateway itself (aud = PUBLIC_URL).
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, await tokenFor(publicUrl), 'files', createTestServer().server);
}, 30_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await tunnelled?.close();
  gw?.kill();
  await gw?.exited;
  await idp?.close();
});

test('the start-up block says where MCP clients start logging in, and with whom', async () => {
  await eventually(() => gw.output.includes('Log in'), 'the start-up block', 10_000);
  expect(gw.output).toContain(`  Log in       ${publicUrl}/.well-known/oauth-protected-resource  (${idp.issuer})`);
});

describe('logging in, step by step, as an MCP client does', () => {
  let resourceMetadataUrl: URL;
  let resourceMetadata: OAuthProtectedResourceMetadata;
  let asMetadata: OAuthMetadata;

  test('1. an MCP request without a token: 401 naming the resource metadata and the scope', async () => {
    const res = await initialize();
    expect(res.status).toBe(401);
    const params = extractWWWAuthenticateParams(res);
    expect(params).toEqual({
      resourceMetadataUrl: new URL(`${publicUrl}/.well-known/oauth-protected-resource/servers/files/mcp`),
      scope: 'mcp',
      error: undefined,
    });
    resourceMetadataUrl = params.resourceMetadataUrl!;
  });

  test('2. the resource metadata: this endpoint is the resource, the provider its authorization server', async () => {
    resourceMetadata = await discoverOAuthProtectedResourceMetadata(new URL(mcpUrl), { resourceMetadataUrl });
    expect(resourceMetadata).toMatchObject({ resource: mcpUrl, authorization_servers: [idp.issuer], scopes_supported: ['mcp'] });
    // Without the 401's hint a client finds the same document at the path-specific well-known URL.
    expect(await discoverOAuthProtectedResourceMetadata(new URL(mcpUrl))).toEqual(resourceMetadata);
  });

  test("3. the provider's metadata, found from its issuer URL", async () => {
    asMetadata = (await discoverAuthorizationServerMetadata(resourceMetadata.authorization_servers![0]))!;
    expect(asMetadata).toMatchObject({ issuer: idp.issuer, token_endpoint: `${idp.issuer}/token` });
  });

  test('4. a token for the resource opens an MCP session through the gateway, and a tool answers', async () => {
    const token = await tokenFor(resourceMetadata.resource, asMetadata.token_endpoint);
    expect(decoded(token).payload).toMatchObject({ aud: mcpUrl, iss: idp.issuer });
    const client = await connectWith(token);
    expect(await echo(client, 'hello through the gateway')).toEqual([{ type: 'text', text: 'hello through the gateway' }]);
  });
});

test('the SDK logs in by itself from the 401 (client_credentials provider): discovery, token, session', async () => {
  const client = new Client({ name: 'oauth-e2e-sdk-login', version: '1.0.0' });
  clients.push(client);
  const authProvider = new ClientCredentialsProvider({
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    expectedIssuer: idp.issuer,
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider }));
  expect(await echo(client, 'logged in by the SDK')).toEqual([{ type: 'text', text: 'logged in by the SDK' }]);
  // It asked for this endpoint's resource, as the metadata told it.
  expect(decoded(authProvider.tokens()!.access_token).payload.aud).toBe(mcpUrl);
});

test('the provider rotates its signing keys mid-run: new tokens, signed with a key the gateway has not seen, are accepted', async () => {
  const before = await connectWith(await tokenFor(mcpUrl));
  expect(await echo(before, 'before')).toEqual([{ type: 'text', text: 'before' }]);
  const oldKid = idp.currentKid;

  idp.rotateKeys();
  const token = await tokenFor(mcpUrl);
  expect(decoded(token).header.kid).toBe(idp.currentKid);
  expect(idp.currentKid).not.toBe(oldKid);
  // The gateway fetched the JWKS when it verified the first token; an unknown key id refetches it once
  // the cooldown since that fetch has passed.
  await delay(JWKS_COOLDOWN_MS + 200);
  const after = await connectWith(token);
  expect(await echo(after, 'after the rotation')).toEqual([{ type: 'text', text: 'after the rotation' }]);
  // The session opened before keeps working: its token's key is still published.
  expect(await echo(before, 'still here')).toEqual([{ type: 'text', text: 'still here' }]);
});

describe('a token for another audience is refused with 401 invalid_token', () => {
  test.each([
    ['another service', () => 'https://other.example.com/api'],
    ['another gateway', () => 'https://gateway.elsewhere.example.com/servers/files/mcp'],
    // RFC 8707: a token asked for one MCP endpoint is that endpoint's, not every server's on the gateway.
    ['another server on this gateway', () => `${publicUrl}/servers/other/mcp`],
  ])('a token for %s', async (_what, resource) => {
    const token = await tokenFor(resource());
    expect(decoded(token).payload.aud).toBe(resource());
    const res = await initialize({ Authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(extractWWWAuthenticateParams(res)).toMatchObject({
      error: 'invalid_token',
      resourceMetadataUrl: new URL(`${publicUrl}/.well-known/oauth-protected-resource/servers/files/mcp`),
    });
  });

  test('the SDK client with such a token does not get a session', async () => {
    await expect(connectWith(await tokenFor('https://other.example.com/api'))).rejects.toThrow(/401|Unauthorized/i);
  });
});
