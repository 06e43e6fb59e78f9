#!/usr/bin/env node
/**
 * Builds the gateway (tsc -p tsconfig.build.json) only when something it is built from changed since
 * the last build this script made: any file or folder under src/ (a deleted file changes its folder),
 * tsconfig.json or tsconfig.build.json newer than dist/.build-stamp. `npm start`, `npm run token` and
 * `npm run bench` run it first, so a second start costs no compile.
 *
 *   node scripts/build-if-stale.mjs [--root <dir>] [--tsc <path to tsc.js>] [--force]
 *
 * `--force` builds whatever the stamp says (`npm run build`), and stamps like any other build, so a
 * start or pack right after it does not compile again.
 *
 * Writes nothing on stdout (`$(npm run --silent token ...)` captures the token alone); tsc's output
 * goes to stderr. The stamp is dated when the build started, so an edit made during it is rebuilt next time.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' }, tsc: { type: 'string' }, force: { type: 'boolean' } } });
const root = resolve(values.root ?? process.cwd());
const tsc = values.tsc ?? join(root, 'node_modules/typescript/bin/tsc');
const stamp = join(root, 'dist/.build-stamp');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json'];

/** Newest modification time (ms) of a file, or of a folder and everything in it; 0 for a missing path. */
function newestMtime(path) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 0;
  }
  let newest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function stampTime() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

const newestInput = Math.max(...INPUTS.map((input) => newestMtime(join(root, input))));
if (!values.force && stampTime() > newestInput) process.exit(0);

const startedAt = new Date();
if (!values.force) process.stderr.write('Building (src/ changed since the last build) ...\n');
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  // tsc reports on stdout: sent to stderr, so stdout stays the caller's.
  stdio: ['ignore', process.stderr, process.stderr],
});
if (build.status !== 0) {
  process.stderr.write(`Build failed (tsc exited with ${build.status ?? build.signal}).\n`);
  process.exit(build.status || 1);
}
closeSync(openSync(stamp, 'w'));
utimesSync(stamp, startedAt, startedAt);
