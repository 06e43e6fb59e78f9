/**
 * scripts/build-if-stale.mjs, run as `npm start`, `npm run token` and `npm run bench` run it, on a
 * project of its own in a temp folder, with a stand-in for tsc that counts its runs: nothing
 * changed means no compile; a changed, added or deleted source or a changed tsconfig means one.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(process.cwd(), 'scripts/build-if-stale.mjs');

/** A stand-in for tsc: logs each run, writes dist/, and fails when the project says so. */
const FAKE_TSC = `
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
appendFileSync('tsc-runs.log', 'run\\n');
console.log('tsc output goes to stderr');
if (existsSync('src/broken.ts')) process.exit(2);
mkdirSync('dist', { recursive: true });
writeFileSync('dist/main.js', '');
`;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  mkdirSync(join(root, 'src/sub'), { recursive: true });
  writeFileSync(join(root, 'src/main.ts'), 'export {};\n');
  writeFileSync(join(root, 'src/sub/a.ts'), 'export {};\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(join(root, 'tsconfig.build.json'), '{}\n');
  writeFileSync(join(root, 'fake-tsc.mjs'), FAKE_TSC);
  // Sources dated in the past, so an edit "now" is newer than the stamp whatever the clock's resolution.
  backdate('src/main.ts', 'src/sub/a.ts', 'src/sub', 'src', 'tsconfig.json', 'tsconfig.build.json');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function backdate(...paths: string[]): void {
  const past = new Date(Date.now() - 3_600_000);
  for (const path of paths) utimesSync(join(root, path), past, past);
}

/** Runs the script; returns its exit code, its stdout, and how many times tsc has run so far. */
function buildIfStale(...extra: string[]): { status: number | null; stdout: string; runs: number } {
  const result = spawnSync(process.execPath, [SCRIPT, '--root', root, '--tsc', join(root, 'fake-tsc.mjs'), ...extra], { cwd: root });
  let runs = 0;
  try {
    runs = readFileSync(join(root, 'tsc-runs.log'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    // No run yet.
  }
  return { status: result.status, stdout: result.stdout.toString(), runs };
}

test('builds once, then not again until something it is built from changes; stdout stays empty', () => {
  expect(buildIfStale()).toEqual({ status: 0, stdout: '', runs: 1 });
  expect(buildIfStale()).toEqual({ status: 0, stdout: '', runs: 1 });

  writeFileSync(join(root, 'src/sub/a.ts'), 'export const a = 1;\n');
  expect(buildIfStale().runs).toBe(2);
  expect(buildIfStale().runs).toBe(2);

  writeFileSync(join(root, 'tsconfig.build.json'), '{ "compilerOptions": {} }\n');
  expect(buildIfStale().runs).toBe(3);
  expect(buildIfStale().runs).toBe(3);
});

test('a deleted source counts as a change (its folder changed)', () => {
  expect(buildIfStale().runs).toBe(1);
  unlinkSync(join(root, 'src/sub/a.ts'));
  expect(buildIfStale().runs).toBe(2);
});

test('a failed build exits non-zero and leaves no stamp: the next run tries again', () => {
  writeFileSync(join(root, 'src/broken.ts'), 'export {};\n');
  const failed = buildIfStale();
  expect([failed.status, failed.runs, failed.stdout]).toEqual([2, 1, '']);
  expect(buildIfStale().runs).toBe(2);
});

test('--force (npm run build) builds although nothing changed, and stamps: the next plain run does not build', () => {
  expect(buildIfStale().runs).toBe(1);
  expect(buildIfStale('--force').runs).toBe(2);
  expect(buildIfStale().runs).toBe(2);
});

test("with a console/ folder, the project's console build runs after tsc, and a console source change rebuilds", () => {
  mkdirSync(join(root, 'console/src'), { recursive: true });
  mkdirSync(join(root, 'scripts'));
  writeFileSync(join(root, 'console/src/main.tsx'), 'export {};\n');
  // A stand-in for scripts/build-console.mjs: logs its run, fails when the project says so.
  writeFileSync(
    join(root, 'scripts/build-console.mjs'),
    "import { appendFileSync, existsSync } from 'node:fs'; appendFileSync('tsc-runs.log', 'console\\n'); if (existsSync('console/broken')) process.exit(3);\n",
  );
  backdate('console/src/main.tsx', 'console/src', 'console', 'scripts/build-console.mjs', 'scripts');
  const consoleRuns = () =>
    readFileSync(join(root, 'tsc-runs.log'), 'utf8')
      .split('\n')
      .filter((l) => l === 'console').length;

  expect(buildIfStale().runs).toBe(2);
  expect(consoleRuns()).toBe(1);
  expect(buildIfStale().runs).toBe(2);

  writeFileSync(join(root, 'console/src/main.tsx'), 'export const changed = 1;\n');
  expect(buildIfStale().runs).toBe(4);
  expect(consoleRuns()).toBe(2);

  writeFileSync(join(root, 'console/broken'), '');
  const failed = buildIfStale();
  expect(failed.status).toBe(3);
  // No stamp after a failed console build: the next run builds again.
  expect(buildIfStale().runs).toBe(failed.runs + 2);
});
