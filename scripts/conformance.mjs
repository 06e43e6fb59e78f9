#!/usr/bin/env node
/**
 * Conformance gate: runs every server scenario of the official MCP conformance suite
 * (@modelcontextprotocol/conformance) against a tunnel served by a live gateway.
 *
 *   npm run conformance            (node scripts/conformance.mjs)
 *
 * Builds if stale, starts dist/main.js on a free loopback port with AUTH_REQUIRED=false (the suite's
 * CLI cannot send an Authorization header), shares test/fixtures/conformance-server.mjs through the
 * real tunnel CLI (dist/client/cli.js), runs `conformance server` at /servers/<name>/mcp, prints one
 * row per scenario and exits 1 on any failure. Everything it starts is killed on the way out.
 *
 * The suite's CLI needs Node >= 22: it runs on the Node binary of scripts/conformance-node (its own
 * lock, installed here on first use) so the root package gets no `node` bin that would shadow the
 * machine's Node in every npm script.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const NODE22_DIR = join(root, 'scripts/conformance-node');
const NODE22 = join(NODE22_DIR, 'node_modules/node22/bin/node');
const SUITE = join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SERVER_NAME = 'conformance';
/** How long the gateway and the tunnel may take to come up, and the whole suite to run. */
const LIMITS = { startMs: 30_000, suiteMs: 5 * 60_000 };

const children = [];
const started = Date.now();

/** Runs a command to completion with inherited output; throws on a non-zero exit. */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status})`);
}

/** A port nothing listens on right now. */
function freePort() {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

/** Starts a long-lived child whose output is kept (last 20 000 chars) for the error message. */
function start(args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.output = '';
  const keep = (chunk) => (child.output = (child.output + chunk).slice(-20_000));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  children.push(child);
  return child;
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

/** Kills every child's process group (the CLI's local server included). */
function killAll() {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}

/** Scenario name and result from the suite's per-scenario checks.json files. */
function readResults(dir) {
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'checks.json')))
    .map((d) => {
      const checks = JSON.parse(readFileSync(join(dir, d, 'checks.json'), 'utf8'));
      const failed = checks.filter((c) => c.status === 'FAILURE').length;
      const warnings = checks.filter((c) => c.status === 'WARNING').map((c) => c.id);
      const scenario = d.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
      return {
        scenario,
        result: failed ? `FAIL (${failed} failed)` : warnings.length ? `pass (warnings: ${warnings.join(', ')})` : 'pass',
        failed,
      };
    })
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

async function main() {
  run(process.execPath, ['scripts/build-if-stale.mjs']);
  if (!existsSync(NODE22)) run('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: NODE22_DIR });

  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  const base = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir() };
  const gateway = start(['dist/main.js'], { ...base, AUTH_REQUIRED: 'false', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error' });
  await waitFor(() => fetch(`${httpUrl}/health`).then((r) => r.ok), 'gateway start', gateway);

  const fixture = `"${process.execPath}" "${join(root, 'test/fixtures/conformance-server.mjs')}"`;
  const cli = start(['dist/client/cli.js', '--local-stdio', fixture, '--gateway', httpUrl, '--name', SERVER_NAME], base);
  await waitFor(async () => cli.output.includes(`registered as "${SERVER_NAME}"`), 'tunnel registration', cli);

  const outDir = mkdtempSync(join(tmpdir(), 'conformance-'));
  try {
    const url = `${httpUrl}/servers/${SERVER_NAME}/mcp`;
    console.log(`conformance: all server scenarios against ${url} (tunnel CLI + ${'test/fixtures/conformance-server.mjs'})`);
    const suite = spawnSync(NODE22, [SUITE, 'server', '--url', url, '--suite', 'all', '-o', outDir], {
      cwd: root,
      encoding: 'utf8',
      timeout: LIMITS.suiteMs,
    });
    const results = readResults(outDir);
    if (results.length === 0) throw new Error(`the suite produced no results (exit ${suite.status}):\n${suite.stdout}\n${suite.stderr}`);
    const width = Math.max(...results.map((r) => r.scenario.length));
    console.log(`\n| ${'scenario'.padEnd(width)} | result |\n| ${'-'.repeat(width)} | ------ |`);
    for (const r of results) console.log(`| ${r.scenario.padEnd(width)} | ${r.result} |`);
    const failed = results.filter((r) => r.failed);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`\n${results.length - failed.length} passed, ${failed.length} failed (${seconds} s)`);
    if (failed.length || suite.status !== 0) {
      if (!failed.length)
        console.log(`the suite exited ${suite.status ?? suite.signal}:\n${suite.stdout.slice(-4000)}\n${suite.stderr.slice(-4000)}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  killAll();
}
