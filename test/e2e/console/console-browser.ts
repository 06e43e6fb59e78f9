/**
 * The console's browser for the e2e tests: Debian's Chromium (/usr/bin/chromium, which .ci/run
 * installs) driven by playwright-core, headless (scripts/chromium.mjs, shared with the screenshots
 * script), with a fresh profile per launch. Pages record every request they make, so a test can
 * tell that nothing left the gateway.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

export { launchChromium as launchBrowser } from '../../../scripts/chromium.mjs';

/** A page of its own context (its own session storage), at 1280x800, with what it requested and logged. */
export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Console errors and uncaught exceptions of the page (a CSP violation shows here). */
  errors: string[];
}

/** Opens the console of the gateway at `baseUrl` in a fresh context. */
export async function openConsole(browser: Browser, baseUrl: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Below jest's 30 s, so a wait that fails says what it waited for.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${baseUrl}/console`);
  return { context, page, requests, errors };
}

/** Signs in with `token` (typed into the form, as a person would paste it) and waits for the tunnels table. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Tunnels' }).waitFor();
}

/** The row of the tunnel named `name` in the tunnels table. */
export function rowOf(page: Page, name: string) {
  return page.locator('table.tunnels tbody tr', { has: page.getByRole('link', { name, exact: true }) });
}
