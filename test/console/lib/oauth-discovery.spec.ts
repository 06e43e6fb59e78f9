import type { Fetch } from '../../../console/src/lib/api.js';
import {
  authorizationServerOf,
  discoverAuthorizationServer,
  endpointUrl,
  metadataUrlsOf,
} from '../../../console/src/lib/oauth-discovery.js';

const ISSUER = 'https://login.example.com/realms/mcp';
const metadata = (over: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`,
  token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
  code_challenge_methods_supported: ['plain', 'S256'],
  ...over,
});
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

/** A fetch answering from a table of URL → answer (a thrown error for a URL mapped to one), recording what was asked. */
function table(answers: Record<string, Response | Error>): { fetch: Fetch; asked: string[]; inits: (RequestInit | undefined)[] } {
  const asked: string[] = [];
  const inits: (RequestInit | undefined)[] = [];
  const fetch: Fetch = async (url, init) => {
    asked.push(url);
    inits.push(init);
    const answer = answers[url] ?? new Response('not found', { status: 404 });
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { fetch, asked, inits };
}

test('the order of the MCP authorization spec: RFC 8414, then OpenID Connect inserted, then appended', () => {
  expect(metadataUrlsOf(ISSUER)).toEqual([
    'https://login.example.com/.well-known/oauth-authorization-server/realms/mcp',
    'https://login.example.com/.well-known/openid-configuration/realms/mcp',
    'https://login.example.com/realms/mcp/.well-known/openid-configuration',
  ]);
  expect(metadataUrlsOf('http://127.0.0.1:8080')).toEqual([
    'http://127.0.0.1:8080/.well-known/oauth-authorization-server',
    'http://127.0.0.1:8080/.well-known/openid-configuration',
  ]);
  // A trailing slash is not part of the path the documents are found under.
  expect(metadataUrlsOf('https://acme.eu.auth0.com/')).toEqual([
    'https://acme.eu.auth0.com/.well-known/oauth-authorization-server',
    'https://acme.eu.auth0.com/.well-known/openid-configuration',
  ]);
});

test('falls back past a missing, failing (CORS) or foreign document, and stops at the first usable one', async () => {
  const [first, second, third] = metadataUrlsOf(ISSUER);
  const { fetch, asked, inits } = table({
    [first]: new TypeError('Failed to fetch'),
    [second]: json(metadata({ issuer: 'https://evil.example' })),
    [third]: json(metadata()),
  });
  expect(await discoverAuthorizationServer(ISSUER, fetch)).toEqual({
    issuer: ISSUER,
    authorizationEndpoint: `${ISSUER}/protocol/openid-connect/auth`,
    tokenEndpoint: `${ISSUER}/protocol/openid-connect/token`,
    issInResponse: false,
  });
  expect(asked).toEqual([first, second, third]);
  // No cookie of the provider's goes with it, and no redirect is followed.
  expect(inits.every((i) => i?.credentials === 'omit' && i.redirect === 'error')).toBe(true);

  const plain = table({ 'http://idp:1/.well-known/oauth-authorization-server': json({ ...metadata(), issuer: 'http://idp:1' }) });
  expect((await discoverAuthorizationServer('http://idp:1', plain.fetch))?.issuer).toBe('http://idp:1');
  expect(plain.asked).toHaveLength(1);
});

test('none usable: undefined', async () => {
  const { fetch, asked } = table({});
  expect(await discoverAuthorizationServer(ISSUER, fetch)).toBeUndefined();
  expect(asked).toHaveLength(3);
});

test('a document is used only for its own issuer, with both endpoints, and S256 when it lists its PKCE methods', () => {
  expect(authorizationServerOf(ISSUER, metadata({ authorization_response_iss_parameter_supported: true }))?.issInResponse).toBe(true);
  // No list at all: PKCE is sent regardless (many OpenID providers do not advertise it).
  expect(authorizationServerOf(ISSUER, metadata({ code_challenge_methods_supported: undefined }))).toBeDefined();
  for (const bad of [
    metadata({ issuer: `${ISSUER}/` }),
    metadata({ token_endpoint: undefined }),
    metadata({ authorization_endpoint: 'javascript:alert(1)' }),
    metadata({ token_endpoint: 'https://u:p@login.example.com/token' }),
    metadata({ code_challenge_methods_supported: ['plain'] }),
    metadata({ code_challenge_methods_supported: 'S256' }),
    [metadata()],
    'text',
    null,
  ]) {
    expect(authorizationServerOf(ISSUER, bad)).toBeUndefined();
  }
});

test('endpointUrl: http(s) without credentials or fragment, bounded; a query is kept', () => {
  expect(endpointUrl('https://idp.example/auth?tenant=x')).toBe('https://idp.example/auth?tenant=x');
  for (const bad of ['ftp://idp.example/x', 'https://idp.example/#f', 'not a url', 7, `https://idp.example/${'x'.repeat(3000)}`]) {
    expect(endpointUrl(bad)).toBeUndefined();
  }
});
