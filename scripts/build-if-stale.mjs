#!/usr/bin/env node
/**
 * Builds the gateway (tsc -p tsconfig.build.json) and its admin console (scripts/build-console.mjs,
 * into dist/console-ui) only when something they are built from changed since the last build this
 * script made: any file or folder under src/ or console/ (a deleted file changes its folder),
 * tsconfig.json, tsconfig.build.json or the console's build script newer than dist/.build-stamp. `npm start`, `npm run token` and
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
import { closeSync, existsSync, lstatSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' }, tsc: { type: 'string' }, force: { type: 'boolean' } } });
const root = resolve(values.root ?? process.cwd());
const tsc = values.tsc ?? join(root, 'node_modules/typescript/bin/tsc');
const stamp = join(root, 'dist/.build-stamp');
const INPUTS = ['src', 'console', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-console.mjs'];

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
if (!values.force) process.stderr.write('Building (src/ or console/ changed since the last build) ...\n');
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  // tsc reports on stdout: sent to stderr, so stdout stays the caller's.
  stdio: ['ignore', process.stderr, process.stderr],
});
if (build.status !== 0) {
  process.stderr.write(`Build failed (tsc exited with ${build.status ?? build.signal}).\n`);
  process.exit(build.status || 1);
}
// The project's own console build (a project without console/, such as the client's alone, has none).
const consoleBuild = existsSync(join(root, 'console'))
  ? spawnSync(process.execPath, [join(root, 'scripts/build-console.mjs'), '--root', root, '--tsc', tsc], {
      cwd: root,
      stdio: ['ignore', process.stderr, process.stderr],
    })
  : { status: 0 };
if (consoleBuild.status !== 0) {
  process.stderr.write(`Console build failed (exited with ${consoleBuild.status ?? consoleBuild.signal}).\n`);
  process.exit(consoleBuild.status || 1);
}
closeSync(openSync(stamp, 'w'));
utimesSync(stamp, startedAt, startedAt);
