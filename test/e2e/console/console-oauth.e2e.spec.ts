/**
 * Signing in to the console at the gateway's identity provider, in a real browser (Debian's Chromium
 * through playwright-core) against the built gateway (dist/main.js) and a real OpenID provider
 * (`oidc-provider`, test/support/oidc-provider.ts) with the console registered as a public client:
 * the button the gateway's metadata and CONSOLE_OAUTH_CLIENT_ID make, the provider's login and
 * consent pages, the authorization code with PKCE exchanged from the page, and the console signed in
 * as the user who logged in. Also what must not happen: a provider's refusal or a forged callback
 * signing anyone in, the code or verifier staying behind, the page connecting anywhere its policy
 * does not name.
 */
import type { Browser, Page } from 'playwright-core';
import { signToken } from '../../../src/auth/sign-token.js';
import { closeTunnels, FakeTunnel } from '../../support/fake-tunnel.js';
import { freePort, startGatewayProcess, TEST_SECRET, type GatewayProcess } from '../../support/gateway.js';
import { startOidcProvider, type RunningOidcProvider } from '../../support/oidc-provider.js';
import { openConsole, launchBrowser, rowOf, type ConsolePage } from './console-browser.js';

const CLIENT_ID = 'mcp-console';
const TOKEN_KEY = 'mcp-gateway-console.token';

let idp: RunningOidcProvider;
let gw: GatewayProcess;
let publicUrl: string;
let browser: Browser;
const pages: ConsolePage[] = [];
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  [idp, browser] = await Promise.all([
    startOidcProvider(undefined, { publicClient: { clientId: CLIENT_ID, redirectUri: `${publicUrl}/console/` } }),
    launchBrowser(),
  ]);
  gw = await startGatewayProcess({
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    // The provider's tokens for the console; the gateway's own (JWT_SECRET) for the tunnels.
    JWT_JWKS_URL: idp.jwksUri,
    JWT_ISSUER: idp.issuer,
    OAUTH_AUTHORIZATION_SERVERS: idp.issuer,
    OAUTH_SCOPES: idp.client.scope,
    CONSOLE_OAUTH_CLIENT_ID: CLIENT_ID,
  });
  for (const [name, owner] of [
    ['alice-notes', 'alice@example.com'],
    ['bob-files', 'bob@example.com'],
  ]) {
    const token = signToken({ secret: TEST_SECRET, sub: owner, expiresIn: '1h' });
    tunnels.push((await FakeTunnel.register(gw.tunnelUrl, token, { name, capabilities: {} })).tunnel);
  }
}, 30_000);
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.context.close()));
});
afterAll(async () => {
  await browser?.close();
  await closeTunnels(tunnels);
  gw?.kill();
  await idp?.close();
});

async function open(): Promise<ConsolePage> {
  const opened = await openConsole(browser, gw.httpUrl);
  pages.push(opened);
  return opened;
}

/** The button the sign-in page offers for the provider (its host, with the port). */
function providerButton(page: Page) {
  return page.getByRole('button', { name: `Sign in with ${new URL(idp.issuer).host}` });
}

/** The provider's development login page: any login (it becomes the token's `sub`), any password. */
async function logInAtProvider(page: Page, login: string): Promise<void> {
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** A JWT's payload, unverified: what the provider issued. */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
}

test("the policy lets the page reach the provider's origin, and nothing else new", async () => {
  const csp = (await fetch(`${gw.httpUrl}/console/`)).headers.get('content-security-policy');
  expect(csp).toBe(
    `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ${idp.issuer}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  expect(await (await fetch(`${gw.httpUrl}/console/config.json`)).json()).toEqual({ oauthClientId: CLIENT_ID });
});

test('sign in at the provider: log in, consent, back on the console signed in as that user, and nothing of the flow left behind', async () => {
  const { page, requests, errors } = await open();
  // Both ways are offered: the provider's button, and the token field.
  await page.getByLabel('Token').waitFor();
  await providerButton(page).click();

  await logInAtProvider(page, 'alice@example.com');
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('heading', { name: 'Tunnels' }).waitFor();
  await page.getByText('Signed in as alice@example.com').waitFor();
  await rowOf(page, 'alice-notes').waitFor();
  expect(await rowOf(page, 'bob-files').count()).toBe(0);

  // The address no longer holds the code or the state; the tab holds the token only.
  expect(page.url()).toBe(`${publicUrl}/console/`);
  const stored = await page.evaluate<Record<string, string>>('Object.fromEntries(Object.entries(sessionStorage))');
  expect(Object.keys(stored)).toEqual([TOKEN_KEY]);
  expect(claimsOf(stored[TOKEN_KEY])).toMatchObject({ iss: idp.issuer, aud: publicUrl, sub: 'alice@example.com', scope: 'mcp' });
  expect(await page.evaluate('({ local: localStorage.length, cookie: document.cookie })')).toEqual({ local: 0, cookie: '' });

  // The authorization request: a code, with PKCE S256, a state, for the gateway as the resource.
  const authorize = new URL(requests.find((url) => url.startsWith(`${idp.issuer}/auth?`))!);
  expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: `${publicUrl}/console/`,
    code_challenge_method: 'S256',
    resource: publicUrl,
    scope: 'mcp',
  });
  expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  // The page reached the provider for its metadata and its token endpoint, nowhere else; no CSP violation.
  expect(requests.filter((url) => url.startsWith(`${idp.issuer}/.well-known/`)).length).toBeGreaterThan(0);
  expect(requests).toContain(`${idp.issuer}/token`);
  expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);

  // A reload stays signed in; signing out forgets the token, and the button is there again.
  await page.reload();
  await rowOf(page, 'alice-notes').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await providerButton(page).waitFor();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  await page.getByRole('alert').waitFor({ state: 'detached' });
});

test('cancelled at the provider: back on the sign-in page with a short message, signed in as no one', async () => {
  const { page } = await open();
  await providerButton(page).click();
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.getByRole('link', { name: '[ Cancel ]' }).click();

  await page.getByRole('alert').getByText('The sign-in was cancelled or refused at the identity provider.').waitFor();
  expect(page.url()).toBe(`${publicUrl}/console/`);
  // The provider's own description is not shown.
  expect(await page.getByText('End-User aborted interaction').count()).toBe(0);
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  await providerButton(page).waitFor();
});

test('a forged callback (a code and state this tab never asked for) is refused without a token request, and wiped from the address', async () => {
  const { page, requests } = await open();
  await page.goto(`${gw.httpUrl}/console/?code=stolen-code&state=forged&error_description=%3Cb%3Ebold%3C%2Fb%3E#/`);
  await page
    .getByRole('alert')
    .getByText(/not started in this tab/)
    .waitFor();
  expect(page.url()).toBe(`${gw.httpUrl}/console/#/`);
  expect(requests.filter((url) => url.startsWith(idp.issuer))).toEqual([]);
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  await page.getByLabel('Token').waitFor();
});
