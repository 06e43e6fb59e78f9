/**
 * The admin console in a real browser (Debian's Chromium through playwright-core) against the real
 * gateway (dist/main.js, built by `pretest`) with real tunnels (the CLI, dist/client/cli.js, and the
 * stdio fixture): what a person does with it, and what it must never do (run a tunnel's markup,
 * load anything from elsewhere, show a user another user's tunnel).
 */
import type { Browser, Page } from 'playwright-core';
import { signToken } from '../../../src/auth/sign-token.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from '../../client/helpers/cli-process.js';
import { FakeTunnel } from '../../support/fake-tunnel.js';
import { startGatewayProcess, TEST_SECRET, type GatewayProcess } from '../../support/gateway.js';
import { launchBrowser, openConsole, rowOf, signIn, type ConsolePage } from './console-browser.js';

const token = (sub: string, admin = false) => signToken({ secret: TEST_SECRET, sub, admin, expiresIn: '1h' });
const ADMIN = token('root@example.com', true);
const ALICE = token('alice@example.com');
const BOB = token('bob@example.com');

/** Long enough for a change to show through the list's poll alone (every 4 s), should the list stream be missing. */
const LIVE_MS = 15_000;

let gw: GatewayProcess;
let browser: Browser;
const pages: ConsolePage[] = [];

beforeAll(async () => {
  [gw, browser] = await Promise.all([startGatewayProcess(), launchBrowser()]);
});
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.context.close()));
  await killAll();
});
afterAll(async () => {
  await browser?.close();
  gw?.kill();
});

async function consoleAs(bearer: string): Promise<Page> {
  const opened = await openConsole(browser, gw.httpUrl);
  pages.push(opened);
  await signIn(opened.page, bearer);
  return opened.page;
}

/** The CLI sharing the stdio fixture as `name`; resolves once registered, with its session id. */
async function tunnel(name: string, bearer: string, ...extra: string[]): Promise<{ cli: CliProcess; sessionId: string }> {
  const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.httpUrl, '--name', name, ...extra], {
    MCP_TUNNEL_TOKEN: bearer,
  });
  const [, sessionId] = await cli.waitForLog(/connected as session (\S+)/, 20_000);
  await cli.waitForLog(new RegExp(`registered as "${name}"`), 20_000);
  return { cli, sessionId };
}

async function restCall(sessionId: string, bearer: string, body: unknown): Promise<any> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

/** Opens a tunnel's page from the table, as a person would. */
async function openTunnel(page: Page, name: string): Promise<void> {
  await rowOf(page, name).getByRole('link', { name }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

test('the page is public, served with a strict CSP, and loads nothing from anywhere but the gateway', async () => {
  const redirect = await fetch(`${gw.httpUrl}/console`, { redirect: 'manual' });
  expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/console/']);
  for (const path of ['/console/', '/console/console.js', '/console/console.css']) {
    const res = await fetch(`${gw.httpUrl}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  }
  // A path outside the console's files is not served by it: still the gateway's 401.
  expect((await fetch(`${gw.httpUrl}/console-not/x`)).status).toBe(401);

  const { cli } = await tunnel('console-assets', ALICE);
  const opened = await openConsole(browser, gw.httpUrl);
  pages.push(opened);
  await signIn(opened.page, ADMIN);
  await rowOf(opened.page, 'console-assets').waitFor({ timeout: LIVE_MS });
  await openTunnel(opened.page, 'console-assets');
  await opened.page.getByText('Following').waitFor();
  expect(opened.requests.length).toBeGreaterThan(3);
  expect(opened.requests.filter((url) => !url.startsWith(`${gw.httpUrl}/`) && !url.startsWith('data:'))).toEqual([]);
  // No CSP violation, no script error.
  expect(opened.errors).toEqual([]);
  cli.kill();
});

test('a refused token is not kept; a good one is kept in session storage only', async () => {
  const opened = await openConsole(browser, gw.httpUrl);
  pages.push(opened);
  const { page } = opened;
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByRole('alert')
    .getByText(/Authentication required|invalid|refused/i)
    .waitFor();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);

  await signIn(page, ALICE);
  const stored = await page.evaluate('({ session: Object.values(sessionStorage), local: localStorage.length, cookie: document.cookie })');
  expect(stored).toEqual({ session: [ALICE], local: 0, cookie: '' });
  // A reload keeps the tab signed in; signing out forgets the token.
  await page.reload();
  await page.getByRole('heading', { name: 'Tunnels' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Token').waitFor();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
});

test('a tunnel appears in the table when its client connects and leaves when it stops, without a reload', async () => {
  const page = await consoleAs(ADMIN);
  // A reload would lose this.
  await page.evaluate('window.__samePage = true');
  const { cli } = await tunnel('console-live', ALICE);
  const row = rowOf(page, 'console-live');
  await row.waitFor({ timeout: LIVE_MS });
  expect(await row.locator('td').first().textContent()).toBe('alice@example.com');
  expect(await row.getByText('ready').count()).toBe(1);

  cli.kill('SIGTERM');
  await cli.waitForExit();
  await row.waitFor({ state: 'detached', timeout: LIVE_MS });
  expect(await page.evaluate('window.__samePage')).toBe(true);
});

test("a user sees their own tunnels, not another user's, and cannot open one by its address", async () => {
  await tunnel('console-alice', ALICE);
  const bobs = await tunnel('console-bob', BOB);
  const page = await consoleAs(ALICE);
  await rowOf(page, 'console-alice').waitFor({ timeout: LIVE_MS });
  expect(await rowOf(page, 'console-bob').count()).toBe(0);
  expect(await page.locator('table.tunnels').textContent()).not.toContain('bob@example.com');

  await page.evaluate(`location.hash = '#/tunnels/${bobs.sessionId}'`);
  await page.getByText('Not authorized for this session').waitFor();
  expect(await page.getByRole('heading', { name: 'console-bob' }).count()).toBe(0);
});

test('one tunnel: its server, what it offers, a live event when a call is made, and the echo tool called from its form', async () => {
  const { sessionId } = await tunnel('console-echo', ALICE);
  const page = await consoleAs(ALICE);
  await rowOf(page, 'console-echo').waitFor({ timeout: LIVE_MS });
  await openTunnel(page, 'console-echo');

  await page.getByText('Fixture Server 1.2.3').waitFor();
  await page.getByText(`${gw.httpUrl}/servers/console-echo/mcp`, { exact: true }).waitFor();
  await page.getByRole('button', { name: 'echo', exact: true }).waitFor();
  await page.locator('code', { hasText: 'fixture://hello' }).waitFor();
  await page.getByText('Following').waitFor();

  // A call made elsewhere (the REST API) shows in the log as it happens.
  const answer = await restCall(sessionId, ALICE, {
    jsonrpc: '2.0',
    id: 'from-the-test',
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'seen in the log' } },
  });
  expect(answer.result.content[0].text).toBe('seen in the log');
  // The call itself shows up as it was sent, then its answer.
  await page.locator('.log-entry.type-call', { hasText: 'id from-the-test' }).waitFor();
  const entry = page.locator('.log-entry.type-response', { hasText: 'id from-the-test' });
  await entry.waitFor();
  await entry.locator('summary').first().click();
  const text = entry.getByText('"seen in the log"');
  await text.waitFor();
  // Each level folds.
  await entry.locator('summary', { hasText: '"result"' }).click();
  await text.waitFor({ state: 'hidden' });
  await entry.locator('summary', { hasText: '"result"' }).click();
  await text.waitFor();

  await page.getByRole('button', { name: 'echo', exact: true }).click();
  await page.getByLabel(/^text/).fill('hello from the form');
  await page.getByRole('button', { name: 'Call echo' }).click();
  await page.getByRole('status', { name: 'Answer' }).getByText('hello from the form', { exact: true }).waitFor();

  // Pausing freezes the log; what comes meanwhile is counted, and shown on resume.
  await page.getByRole('button', { name: 'Pause' }).click();
  const shown = await page.locator('.log-entry').count();
  await restCall(sessionId, ALICE, { jsonrpc: '2.0', id: 'while-paused', method: 'tools/list' });
  await page.getByText(/new while paused/).waitFor();
  expect(await page.locator('.log-entry').count()).toBe(shown);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.log-entry.type-response', { hasText: 'id while-paused' }).waitFor();
});

test('tool output with markup is shown as text: no script runs, no element is made', async () => {
  await tunnel('console-xss', ALICE);
  const page = await consoleAs(ALICE);
  await rowOf(page, 'console-xss').waitFor({ timeout: LIVE_MS });
  await openTunnel(page, 'console-xss');
  await page.getByText('Following').waitFor();

  const markup = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
  await page.getByRole('button', { name: 'echo', exact: true }).click();
  await page.getByLabel(/^text/).fill(markup);
  await page.getByRole('button', { name: 'Call echo' }).click();
  const result = page.getByRole('status', { name: 'Answer' }).locator('pre');
  await result.waitFor();
  expect(await result.textContent()).toBe(markup);
  // The same answer reached the event log, as text too.
  const entry = page.locator('.log-entry.type-response', { hasText: '__pwned' });
  await entry.waitFor();
  expect(await entry.locator('.json-string').allTextContents()).toContain(JSON.stringify(markup));

  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('main script').count()).toBe(0);
});

test('a user the server is shared with may use it, but is told (not shown an error) that its event stream is for its owner', async () => {
  await tunnel('console-shared', ALICE, '--share', 'bob@example.com');
  const page = await consoleAs(BOB);
  await rowOf(page, 'console-shared').waitFor({ timeout: LIVE_MS });
  await openTunnel(page, 'console-shared');
  await page.getByText("Only the tunnel's owner or an admin can follow its events.").waitFor();
  expect(await page.getByRole('button', { name: /Disconnect/ }).count()).toBe(0);
  // Using it is allowed: the tool form works.
  await page.getByRole('button', { name: 'echo', exact: true }).click();
  await page.getByLabel(/^text/).fill('shared');
  await page.getByRole('button', { name: 'Call echo' }).click();
  await page.getByRole('status', { name: 'Answer' }).getByText('shared', { exact: true }).waitFor();
});

test('disconnect asks first (Escape cancels, focus goes back), then closes the tunnel and returns to the list', async () => {
  const { tunnel: fake, sessionId } = await FakeTunnel.register(`${gw.tunnelUrl}`, ALICE, { name: 'console-bye', capabilities: {} });
  const page = await consoleAs(ADMIN);
  await rowOf(page, 'console-bye').waitFor({ timeout: LIVE_MS });
  await openTunnel(page, 'console-bye');

  const disconnect = page.getByRole('button', { name: 'Disconnect…' });
  await disconnect.click();
  const dialog = page.getByRole('dialog', { name: 'Disconnect "console-bye"?' });
  await dialog.waitFor();
  // The safe choice has the focus; Escape cancels and gives the focus back.
  expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  expect(await page.evaluate('document.activeElement?.textContent')).toBe('Disconnect…');
  expect(fake.closeCode).toBeUndefined();

  await disconnect.click();
  await dialog.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await fake.closed;
  await page.getByRole('heading', { name: 'Tunnels' }).waitFor();
  await rowOf(page, 'console-bye').waitFor({ state: 'detached', timeout: LIVE_MS });
  const gone = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  expect(gone.status).toBe(404);
});

test('keyboard only: sign in, filter, and open a tunnel', async () => {
  await tunnel('console-keys', ALICE);
  const opened = await openConsole(browser, gw.httpUrl);
  pages.push(opened);
  const { page } = opened;
  await page.keyboard.press('Tab');
  expect(await page.evaluate('document.activeElement?.id')).toBe('token');
  await page.keyboard.type(ADMIN);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Tunnels' }).waitFor();
  await page.getByLabel('Filter by name or owner').focus();
  await page.keyboard.type('console-keys');
  await rowOf(page, 'console-keys').waitFor({ timeout: LIVE_MS });
  await page.keyboard.press('Tab');
  expect(await page.evaluate('document.activeElement?.textContent')).toBe('console-keys');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'console-keys', level: 1 }).waitFor();
});
