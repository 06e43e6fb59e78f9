/**
 * The console with 1,000 tunnels (raw tunnel connections, test/support/fake-tunnel.ts, against the
 * real gateway process): the table shows one page of 50 at a time, pages through all of them,
 * filters by name and by owner, and still follows tunnels as they come.
 */
import type { Browser } from 'playwright-core';
import { signToken } from '../../../src/auth/sign-token.js';
import { closeTunnels, FakeTunnel } from '../../support/fake-tunnel.js';
import { startGatewayProcess, TEST_SECRET, type GatewayProcess } from '../../support/gateway.js';
import { launchBrowser, openConsole, rowOf, signIn, type ConsolePage } from './console-browser.js';

const TUNNELS = 1000;
const token = (sub: string, admin = false) => signToken({ secret: TEST_SECRET, sub, admin, expiresIn: '1h' });
const OWNERS = [token('ann@example.com'), token('ben@example.com')];

let gw: GatewayProcess;
let browser: Browser;
let opened: ConsolePage | undefined;
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  [gw, browser] = await Promise.all([startGatewayProcess({ MAX_SESSIONS_PER_USER: String(TUNNELS) }), launchBrowser()]);
  // In batches: a thousand upgrades at once would only measure the machine.
  for (let start = 0; start < TUNNELS; start += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const n = start + i;
        return FakeTunnel.register(gw.tunnelUrl, OWNERS[n % 2], { name: `scale-${String(n).padStart(4, '0')}`, capabilities: {} });
      }),
    );
    tunnels.push(...batch.map((b) => b.tunnel));
  }
}, 120_000);
afterAll(async () => {
  await opened?.context.close();
  await browser?.close();
  await closeTunnels(tunnels);
  gw?.kill();
});

test('1,000 tunnels: one page of 50 at a time, paged, filtered by name and by owner, and still live', async () => {
  opened = await openConsole(browser, gw.httpUrl);
  const { page } = opened;
  await signIn(page, token('root@example.com', true));
  await page.getByText('1,000 tunnels').waitFor();
  const rows = page.locator('table.tunnels tbody tr[data-session]');
  expect(await rows.count()).toBe(50);
  await page.getByText('1–50 of 1,000 (page 1 of 20)').waitFor();
  expect(await rows.first().getByRole('link').textContent()).toBe('scale-0000');

  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('51–100 of 1,000 (page 2 of 20)').waitFor();
  expect(await rows.first().getByRole('link').textContent()).toBe('scale-0050');

  const filter = page.getByLabel('Filter by name or owner');
  await filter.fill('scale-0999');
  await page.getByText('1 of 1,000 tunnels').waitFor();
  expect(await rows.count()).toBe(1);
  // No pager for one page.
  expect(await page.getByRole('button', { name: 'Next' }).count()).toBe(0);

  await filter.fill('ben@');
  await page.getByText('500 of 1,000 tunnels').waitFor();
  expect(await rows.count()).toBe(50);
  expect(new Set(await rows.locator('td:first-of-type').allTextContents())).toEqual(new Set(['ben@example.com']));

  await filter.fill('');
  const { tunnel } = await FakeTunnel.register(gw.tunnelUrl, OWNERS[0], { name: 'scale-late', capabilities: {} });
  tunnels.push(tunnel);
  await page.getByText('1,001 tunnels').waitFor({ timeout: 15_000 });
  await filter.fill('scale-late');
  await rowOf(page, 'scale-late').waitFor();
  expect(opened.errors).toEqual([]);
});
