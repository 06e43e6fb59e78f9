#!/usr/bin/env node
/**
 * Takes the README's pictures of the admin console: docs/console-tunnels.png (the tunnels table) and
 * docs/console-tunnel.png (one tunnel), 1280x800, in headless Chromium (/usr/bin/chromium, Debian's
 * package) driven by playwright-core.
 *
 *   npm run console:screenshots
 *
 * Builds if stale, starts dist/main.js on a free loopback port, shares a few local servers through the
 * real tunnel CLI (the test fixture and server-everything), makes some calls so the counters, charts
 * and event log have something to show, then signs in as an admin and takes the pictures. Everything
 * it starts is stopped on the way out. Nothing leaves the machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { freePort } from './free-port.mjs';

const root = resolve(import.meta.dirname, '..');
const secret = randomBytes(24).toString('hex');
const children = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a child process (its own process group, so the local servers it starts go with it). */
function start(args, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  children.push(child);
  return { child, output: () => output };
}

async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function stopAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function main() {
  const build = spawnSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const { signToken } = await import(join(root, 'dist/auth/sign-token.js'));
  const token = (sub, admin = false) => signToken({ secret, sub, admin, expiresIn: '1h' });
  const admin = token('root@example.com', true);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = start(['dist/main.js'], { JWT_SECRET: secret, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' });
  await until('the gateway', () =>
    fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    ),
  ).catch((err) => {
    throw new Error(`${err.message}\n${gateway.output()}`);
  });

  const fixture = `node "${join(root, 'test/fixtures/stdio-mcp-server.mjs')}"`;
  const everything = `node "${join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')}"`;
  const tunnels = [
    ['everything', everything, 'alice@example.com'],
    ['fixture', fixture, 'alice@example.com'],
    ['notes', fixture, 'bob@example.com'],
    ['search-index', fixture, 'carol@example.com'],
  ];
  for (const [name, command, owner] of tunnels) {
    start(['dist/client/cli.js', '--local-stdio', command, '--gateway', base, '--name', name], { MCP_TUNNEL_TOKEN: token(owner) });
  }
  const list = async () =>
    (await (await fetch(`${base}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${admin}` } })).json()).sessions;
  await until('the tunnels', async () => (await list()).filter((s) => s.state === 'ready').length === tunnels.length, 60_000);
  const sessions = await list();
  const id = (name) => sessions.find((s) => s.name === name).session_id;
  const call = (name, n, tool, args) =>
    fetch(`${base}/reverse-proxy/sessions/${id(name)}/request`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: tool, arguments: args } }),
    }).then((r) => r.json());

  // Traffic over a few of the stats' 10 s buckets, so the charts have a line.
  for (let round = 0; round < 4; round++) {
    const calls = [];
    for (let i = 0; i < 5 + round * 4; i++) {
      calls.push(call('fixture', `r${round}-${i}`, 'counted', { key: `k${i}`, ms: 5 + ((i * 7) % 40) }));
      calls.push(call('notes', `n${round}-${i}`, 'echo', { text: `note ${i}` }));
    }
    calls.push(call('everything', `e${round}`, 'echo', { message: `round ${round}` }));
    await Promise.all(calls);
    if (round < 3) await sleep(10_000);
  }

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/console`);
    await page.getByLabel('Token').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .locator('table.tunnels tbody tr[data-session]')
      .nth(tunnels.length - 1)
      .waitFor();
    await page
      .getByText('Live')
      .or(page.getByText(/Refreshed every/))
      .first()
      .waitFor();
    await page.screenshot({ path: join(root, 'docs/console-tunnels.png') });

    await page.getByRole('link', { name: 'fixture', exact: true }).click();
    await page.getByRole('heading', { name: 'fixture', level: 1 }).waitFor();
    await page.getByText('Following').waitFor();
    await page.getByRole('button', { name: 'echo', exact: true }).click();
    await page.getByLabel(/^text/).fill('hello from the console');
    await page.getByRole('button', { name: 'Call echo' }).click();
    await page.getByRole('status', { name: 'Answer' }).waitFor();
    await call('fixture', 'last', 'echo', { text: 'a call from elsewhere' });
    await page.locator('.log-entry', { hasText: 'id last' }).waitFor();
    await page.locator('figure.chart').first().waitFor({ timeout: 15_000 });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(root, 'docs/console-tunnel.png') });
    await page.evaluate("document.getElementById('catalog-title').scrollIntoView()");
    await page.screenshot({ path: join(root, 'docs/console-tunnel-call.png') });
  } finally {
    await browser.close();
  }
  process.stderr.write('Wrote docs/console-tunnels.png, docs/console-tunnel.png and docs/console-tunnel-call.png\n');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`console-screenshots: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  stopAll();
}
