/**
 * scripts/conformance-report.mjs: the conformance gate's flags, its rows from the suite's result
 * folders (written here the way the suite writes them), and its table.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The module, untyped (a script, not part of the TypeScript program). */
let m: any;
beforeAll(async () => {
  m = await import(pathToFileURL(resolve(process.cwd(), 'scripts/conformance-report.mjs')).href);
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'conformance-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** One result folder as the suite writes it: checks.json, and stdout.txt for client scenarios. */
function result(folder: string, statuses: string[], stdout?: string): void {
  mkdirSync(join(dir, folder), { recursive: true });
  const checks = statuses.map((status, i) => ({ id: `check-${i}`, status }));
  writeFileSync(join(dir, folder, 'checks.json'), JSON.stringify(checks));
  if (stdout !== undefined) writeFileSync(join(dir, folder, 'stdout.txt'), stdout);
}

test('runs both parts by default, one with --server-only or --client-only, and refuses the rest', () => {
  expect(m.parseModes([])).toEqual({ server: true, client: true });
  expect(m.parseModes(['--server-only'])).toEqual({ server: true, client: false });
  expect(m.parseModes(['--client-only'])).toEqual({ server: false, client: true });
  expect(() => m.parseModes(['--server-only', '--client-only'])).toThrow(/exclude each other/);
  expect(() => m.parseModes(['--client'])).toThrow(/unknown option --client/);
});

test('server rows: a failed check fails the row, warnings pass and are named', () => {
  result('server-ping-2026-01-02T03-04-05-006Z', ['SUCCESS', 'INFO']);
  result('server-tools-list-2026-01-02T03-04-05-006Z', ['SUCCESS', 'FAILURE', 'FAILURE']);
  result('server-server-sse-polling-2026-01-02T03-04-05-006Z', ['SUCCESS', 'WARNING']);
  mkdirSync(join(dir, 'not-a-result'));
  expect(m.readResults(dir, { mode: 'server' })).toEqual([
    { mode: 'server', scenario: 'ping', result: 'pass', failed: false },
    { mode: 'server', scenario: 'server-sse-polling', result: 'pass (warnings: check-1)', failed: false },
    { mode: 'server', scenario: 'tools-list', result: 'FAIL (2 failed)', failed: true },
  ]);
});

test('client rows also fail when the driver did not report its calls answered', () => {
  const ok = 'driver: ok';
  result('initialize-2026-01-02T03-04-05-006Z', ['SUCCESS'], `${ok}\n`);
  result('tools_call-2026-01-02T03-04-05-006Z', ['SUCCESS'], 'driver: unexpected answer\n');
  result('sse-retry-2026-01-02T03-04-05-006Z', ['SUCCESS']);
  const rows = m.readResults(dir, { mode: 'client', driverOk: ok });
  expect(rows.map((r: any) => [r.scenario, r.failed])).toEqual([
    ['initialize', false],
    ['sse-retry', true],
    ['tools_call', true],
  ]);
  expect(rows[1].result).toBe('FAIL (the client driver did not finish its calls)');
  // The driver's own account, when it gave one on stderr.
  writeFileSync(
    join(dir, 'tools_call-2026-01-02T03-04-05-006Z', 'stderr.txt'),
    'cli output\nconformance-client: tools_call: unexpected answer: "9"\n',
  );
  expect(m.readResults(dir, { mode: 'client', driverOk: ok })[2].result).toBe('FAIL (tools_call: unexpected answer: "9")');
});

test('the table has one row per scenario under a header', () => {
  const lines = m.formatTable([
    { mode: 'server', scenario: 'ping', result: 'pass' },
    { mode: 'client', scenario: 'sse-retry', result: 'FAIL (1 failed)' },
  ]);
  expect(lines).toEqual([
    '| mode   | scenario  | result |',
    '| ------ | --------- | ------ |',
    '| server | ping      | pass |',
    '| client | sse-retry | FAIL (1 failed) |',
  ]);
});
