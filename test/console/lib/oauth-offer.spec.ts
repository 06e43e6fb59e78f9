import type { Fetch } from '../../../console/src/lib/api.js';
import { loadOAuthOffer, offerOf } from '../../../console/src/lib/oauth-offer.js';

const GATEWAY = 'https://mcp.example.com';
const RESOURCE_METADATA = {
  resource: GATEWAY,
  authorization_servers: ['https://login.example.com/realms/mcp', 'https://other.example'],
  scopes_supported: ['mcp', 'openid'],
  bearer_methods_supported: ['header'],
};

test("the offer: the console's client at the first authorization server, for the gateway as the resource, back at /console/", () => {
  expect(offerOf({ oauthClientId: 'mcp-console' }, RESOURCE_METADATA, GATEWAY)).toEqual({
    clientId: 'mcp-console',
    issuer: 'https://login.example.com/realms/mcp',
    label: 'login.example.com',
    resource: GATEWAY,
    scopes: ['mcp', 'openid'],
    redirectUri: `${GATEWAY}/console/`,
    here: true,
  });
  // A port is part of the label; no scopes listed: none asked for.
  const local = offerOf(
    { oauthClientId: 'c' },
    { resource: 'http://127.0.0.1:3000', authorization_servers: ['http://127.0.0.1:9000'] },
    'http://127.0.0.1:3000',
  );
  expect([local?.label, local?.scopes]).toEqual(['127.0.0.1:9000', []]);
});

test('a page at another address than PUBLIC_URL is told so (its session storage would not be there on the way back)', () => {
  expect(offerOf({ oauthClientId: 'mcp-console' }, RESOURCE_METADATA, 'http://localhost:3000')?.here).toBe(false);
});

test('no offer without a client, or with metadata that is missing or not well formed; odd scopes are left out', () => {
  for (const settings of [{}, { oauthClientId: '' }, { oauthClientId: 'a b' }, { oauthClientId: 'x'.repeat(256) }, null, []]) {
    expect(offerOf(settings, RESOURCE_METADATA, GATEWAY)).toBeUndefined();
  }
  for (const metadata of [
    undefined,
    { ...RESOURCE_METADATA, authorization_servers: [] },
    { ...RESOURCE_METADATA, authorization_servers: ['javascript:alert(1)'] },
    { ...RESOURCE_METADATA, resource: 7 },
  ]) {
    expect(offerOf({ oauthClientId: 'c' }, metadata, GATEWAY)).toBeUndefined();
  }
  const scopes = offerOf(
    { oauthClientId: 'c' },
    { ...RESOURCE_METADATA, scopes_supported: ['ok', 'a b', 'q"', 3, 'x'.repeat(200)] },
    GATEWAY,
  )?.scopes;
  expect(scopes).toEqual(['ok']);
});

test('loadOAuthOffer reads config.json next to the page, and the resource metadata only when a client is named', async () => {
  const asked: string[] = [];
  const serve =
    (settings: unknown): Fetch =>
    async (url) => {
      asked.push(url);
      return new Response(JSON.stringify(url === 'config.json' ? settings : RESOURCE_METADATA));
    };
  expect(await loadOAuthOffer(serve({}), GATEWAY)).toBeUndefined();
  expect(asked).toEqual(['config.json']);
  expect((await loadOAuthOffer(serve({ oauthClientId: 'mcp-console' }), GATEWAY))?.clientId).toBe('mcp-console');
  expect(asked).toEqual(['config.json', 'config.json', '/.well-known/oauth-protected-resource']);
  // An older gateway (no config.json), or none reachable: no offer, no error.
  expect(await loadOAuthOffer(async () => new Response('', { status: 401 }), GATEWAY)).toBeUndefined();
  expect(await loadOAuthOffer(() => Promise.reject(new TypeError('offline')), GATEWAY)).toBeUndefined();
});
