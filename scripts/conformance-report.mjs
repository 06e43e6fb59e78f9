/**
 * The conformance gate's reading and printing (scripts/conformance.mjs): which parts to run, one
 * row per scenario from the suite's result folders, and the table. No processes here, so the spec
 * (test/scripts/conformance-report.spec.ts) runs it on folders it writes itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which parts `npm run conformance -- <flags>` runs: both by default, or one of them. */
export function parseModes(argv) {
  const known = new Set(['--server-only', '--client-only']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length) throw new Error(`unknown option ${unknown[0]} (use --server-only or --client-only)`);
  const serverOnly = argv.includes('--server-only');
  const clientOnly = argv.includes('--client-only');
  if (serverOnly && clientOnly) throw new Error('--server-only and --client-only exclude each other');
  return { server: !clientOnly, client: !serverOnly };
}

/**
 * One row per result folder of the suite (`<scenario>-<timestamp>/checks.json`; the server part's
 * are prefixed `server-`). A check that FAILED fails the row. For the client part, `driverOk` is the
 * line the client driver prints on success: a folder whose stdout.txt lacks it failed too (the
 * driver's calls went wrong or it timed out, which the checks alone may not show). Warnings pass.
 */
export function readResults(dir, { mode, driverOk } = { mode: 'server' }) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((d) => existsSync(join(dir, d, 'checks.json')))
    .map((d) => {
      const checks = JSON.parse(readFileSync(join(dir, d, 'checks.json'), 'utf8'));
      const failed = checks.filter((c) => c.status === 'FAILURE').length;
      const warnings = checks.filter((c) => c.status === 'WARNING').map((c) => c.id);
      const stdout = join(dir, d, 'stdout.txt');
      const driverFailed = driverOk !== undefined && !(existsSync(stdout) && readFileSync(stdout, 'utf8').includes(driverOk));
      const scenario = d.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
      let result = 'pass';
      if (failed) result = `FAIL (${failed} failed)`;
      else if (driverFailed) result = `FAIL (${driverProblem(join(dir, d)) ?? 'the client driver did not finish its calls'})`;
      else if (warnings.length) result = `pass (warnings: ${warnings.join(', ')})`;
      return { mode, scenario, result, failed: failed > 0 || driverFailed };
    })
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/** The driver's own account of what went wrong: its last `conformance-client: ` line on stderr, if any. */
function driverProblem(folder) {
  const file = join(folder, 'stderr.txt');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('conformance-client: '));
  return lines.at(-1)?.slice('conformance-client: '.length);
}

/** The Markdown table of rows, as lines. */
export function formatTable(rows) {
  const width = Math.max('scenario'.length, ...rows.map((r) => r.scenario.length));
  return [
    `| mode   | ${'scenario'.padEnd(width)} | result |`,
    `| ------ | ${'-'.repeat(width)} | ------ |`,
    ...rows.map((r) => `| ${r.mode.padEnd(6)} | ${r.scenario.padEnd(width)} | ${r.result} |`),
  ];
}
