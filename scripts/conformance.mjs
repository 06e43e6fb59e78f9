#!/usr/bin/env node
/**
 * Conformance gate: runs the official MCP conformance suite (@modelcontextprotocol/conformance)
 * against the gateway and the tunnel CLI, through the real path.
 *
 *   npm run conformance                    (node scripts/conformance.mjs: both parts)
 *   npm run conformance -- --server-only   (or --client-only)
 *
 * Builds if stale and starts dist/main.js on a free loopback port with AUTH_REQUIRED=false (the suite's
 * CLI cannot send an Authorization header). Server part: shares test/fixtures/conformance-server.mjs
 * through the real tunnel CLI (dist/client/cli.js) and runs every server scenario at
 * /servers/<name>/mcp. Client part: for each client scenario that applies to the CLI as an MCP client
 * of a local Streamable HTTP server (scripts/conformance-client-scenarios.mjs), the suite starts its
 * test server and runs scripts/conformance-client.mjs, which puts the CLI in front of it
 * (`--local-streamable-http`) and makes the scenario's calls through the gateway. Prints one row per
 * scenario and exits 1 on any failure. Everything it starts is killed on the way out.
 *
 * The suite's CLI needs Node >= 22: it runs on the Node binary of scripts/conformance-node (its own
 * lock, installed here on first use) so the root package gets no `node` bin that would shadow the
 * machine's Node in every npm script.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { classifyClientScenarios, DRIVER_OK, parseClientList, TIMED_CLIENT_SCENARIOS } from './conformance-client-scenarios.mjs';
import { formatTable, parseModes, readResults } from './conformance-report.mjs';
import { freePort } from './free-port.mjs';

const root = resolve(import.meta.dirname, '..');
const NODE22_DIR = join(root, 'scripts/conformance-node');
const NODE22 = join(NODE22_DIR, 'node_modules/node22/bin/node');
const SUITE = join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SERVER_NAME = 'conformance';
/**
 * How long the gateway and the tunnel may take to come up, the whole server suite to run, and one
 * client scenario (the suite's own client timeout, and ours around it).
 */
const LIMITS = { startMs: 30_000, suiteMs: 5 * 60_000, clientMs: 30_000, clientSuiteMs: 60_000 };

const children = [];
const started = Date.now();

/** Starts dist/main.js on a free loopback port, auth off (the suite sends no token), with `env` on top; resolves with its URL once it answers. */
async function startGateway(base, env = {}) {
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  const gateway = start(process.execPath, ['dist/main.js'], {
    ...base,
    AUTH_REQUIRED: 'false',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
    ...env,
  });
  await waitFor(() => fetch(`${httpUrl}/health`).then((r) => r.ok), 'gateway start', gateway);
  return httpUrl;
}

/** Runs a command to completion with inherited output; throws on a non-zero exit. */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status})`);
}

/** Starts a child in its own process group (killAll ends it with all it started); its output is kept (last 20 000 chars). */
function start(cmd, args, env) {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.output = '';
  const keep = (chunk) => (child.output = (child.output + chunk).slice(-20_000));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  children.push(child);
  return child;
}

/** Resolves with the child's exit code (or signal) once it ends; kills it after `ms`. */
function exited(child, ms) {
  return new Promise((done) => {
    const timer = setTimeout(() => killGroup(child), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      done(code ?? signal);
    });
  });
}

/** Polls `check` until it resolves truthy, or throws naming `what`. */
async function waitFor(check, what, child) {
  const deadline = Date.now() + LIMITS.startMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: process exited\n${child.output}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: timed out\n${child.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills a child's process group (what it started included). */
function killGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function killAll() {
  for (const child of children) killGroup(child);
}

/** Every server scenario against the fixture behind the tunnel CLI; one row each. */
async function serverPart(httpUrl, base, outDir, mode = 'server') {
  const fixture = `"${process.execPath}" "${join(root, 'test/fixtures/conformance-server.mjs')}"`;
  const cli = start(process.execPath, ['dist/client/cli.js', '--local-stdio', fixture, '--gateway', httpUrl, '--name', SERVER_NAME], base);
  await waitFor(async () => cli.output.includes(`registered as "${SERVER_NAME}"`), 'tunnel registration', cli);

  const url = `${httpUrl}/servers/${SERVER_NAME}/mcp`;
  console.log(`conformance: all server scenarios against ${url} (tunnel CLI + test/fixtures/conformance-server.mjs), ${mode}`);
  const suite = spawnSync(NODE22, [SUITE, 'server', '--url', url, '--suite', 'all', '-o', outDir], {
    cwd: root,
    encoding: 'utf8',
    timeout: LIMITS.suiteMs,
  });
  killGroup(cli);
  const rows = readResults(outDir, { mode });
  if (rows.length === 0) throw new Error(`the server suite produced no results (exit ${suite.status}):\n${suite.stdout}\n${suite.stderr}`);
  // The suite's exit also counts: a failure it saw outside the checks must not pass unnoticed.
  if (suite.status !== 0 && !rows.some((r) => r.failed)) {
    rows.push({ mode, scenario: '(suite)', result: `FAIL (the suite exited ${suite.status ?? suite.signal})`, failed: true });
    console.log(`${suite.stdout.slice(-4000)}\n${suite.stderr.slice(-4000)}`);
  }
  return rows;
}

/** Runs one client scenario through the suite, with the driver as its client command; resolves with the suite's exit. */
function runClientScenario(scenario, httpUrl, base, outDir) {
  const driver = `"${process.execPath}" "${join(root, 'scripts/conformance-client.mjs')}"`;
  const args = [SUITE, 'client', '--command', driver, '--scenario', scenario, '--timeout', String(LIMITS.clientMs), '-o', outDir];
  const suite = start(NODE22, args, { ...base, CONFORMANCE_GATEWAY: httpUrl });
  return exited(suite, LIMITS.clientSuiteMs).then((status) => ({ scenario, status, output: suite.output }));
}

/**
 * The client scenarios that apply to the tunnel CLI: those that measure time alone, after the
 * others (which run at once: each has its own test server, CLI and server name); one row each, and
 * a line for those that do not apply.
 */
async function clientPart(httpUrl, base, outDir) {
  const list = spawnSync(NODE22, [SUITE, 'list', '--client'], { cwd: root, encoding: 'utf8' });
  const { run: scenarios, skipped, unknown } = classifyClientScenarios(parseClientList(list.stdout ?? ''));
  if (scenarios.length === 0) throw new Error(`the suite listed no applicable client scenario:\n${list.stdout}\n${list.stderr}`);
  console.log(`conformance: client scenarios ${scenarios.join(', ')}, the tunnel CLI in --local-streamable-http mode`);
  const together = scenarios.filter((s) => !TIMED_CLIENT_SCENARIOS.includes(s));
  const runs = await Promise.all(together.map((s) => runClientScenario(s, httpUrl, base, outDir)));
  for (const s of scenarios.filter((name) => TIMED_CLIENT_SCENARIOS.includes(name)))
    runs.push(await runClientScenario(s, httpUrl, base, outDir));

  const found = readResults(outDir, { mode: 'client', driverOk: DRIVER_OK });
  const rows = [];
  for (const { scenario, status, output } of runs) {
    const own = found.filter((r) => r.scenario === scenario);
    if (own.length) rows.push(...own);
    else {
      rows.push({ mode: 'client', scenario, result: `FAIL (no result; the suite exited ${status})`, failed: true });
      console.log(output.slice(-4000));
    }
  }
  for (const name of unknown)
    rows.push({ mode: 'client', scenario: name, result: 'FAIL (new scenario: decide whether it applies)', failed: true });
  if (skipped.length) {
    const reasons = [...new Set(skipped.map((s) => s.why))];
    console.log(`not applicable: ${skipped.length} client scenarios (${skipped.map((s) => s.name).join(', ')}): ${reasons.join('; ')}`);
  }
  return rows;
}

async function main() {
  const modes = parseModes(process.argv.slice(2));
  run(process.execPath, ['scripts/build-if-stale.mjs']);
  if (!existsSync(NODE22)) run('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: NODE22_DIR });

  const base = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir() };
  const httpUrl = await startGateway(base);
  // The server part again on a gateway that answers every POST with an SSE stream (MCP_ANSWER_WAIT_MS=0):
  // the default answers quick calls with JSON, so the stream form is judged on its own too.
  const sseUrl = modes.server ? await startGateway(base, { MCP_ANSWER_WAIT_MS: '0' }) : undefined;

  const outDir = mkdtempSync(join(tmpdir(), 'conformance-'));
  const rows = [];
  const seconds = {};
  try {
    for (const [mode, part, url] of [
      ['server', serverPart, httpUrl],
      ['server, SSE answers', (u, b, o) => serverPart(u, b, o, 'server, SSE answers'), sseUrl],
      ['client', clientPart, httpUrl],
    ]) {
      if (!modes[mode.split(',')[0]]) continue;
      const t0 = Date.now();
      rows.push(...(await part(url, base, join(outDir, mode.replace(/\W+/g, '-')))));
      seconds[mode] = ((Date.now() - t0) / 1000).toFixed(1);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  console.log(`\n${formatTable(rows).join('\n')}`);
  const failed = rows.filter((r) => r.failed);
  const parts = Object.entries(seconds).map(([mode, s]) => `${mode} ${s} s`);
  const total = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\n${rows.length - failed.length} passed, ${failed.length} failed (${total} s; ${parts.join(', ')})`);
  if (failed.length) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  killAll();
}
