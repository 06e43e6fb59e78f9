/**
 * The gateway serves the built console (dist/console-ui, from `npm run build`) at /console without a
 * token — the page holds no data — while the API it calls still needs one; CONSOLE_ENABLED=false
 * serves nothing there.
 */
import { startGateway, type RunningGateway } from '../../support/gateway.js';

let gateways: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  gateways = [];
});

async function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  const gw = await startGateway(env);
  gateways.push(gw);
  return gw;
}

test('the page and its files need no token; the API it calls does', async () => {
  const gw = await gateway();
  const page = await fetch(`${gw.httpUrl}/console/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  // No inline script or style: the CSP allows neither.
  expect(html).not.toMatch(/<script>|<style|style=/);
  for (const asset of html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)) {
    expect((await fetch(`${gw.httpUrl}/console/${asset[1]}`)).status).toBe(200);
  }
  expect((await fetch(`${gw.httpUrl}/reverse-proxy/sessions`)).status).toBe(401);
});

test('CONSOLE_ENABLED=false: /console is an unknown route like any other (401 without a token, 404 with one)', async () => {
  const gw = await gateway({ CONSOLE_ENABLED: 'false' });
  expect((await fetch(`${gw.httpUrl}/console/`)).status).toBe(401);
  const withToken = await fetch(`${gw.httpUrl}/console/`, { headers: { Authorization: `Bearer ${gw.mintToken('a@example.com')}` } });
  expect(withToken.status).toBe(404);
});
