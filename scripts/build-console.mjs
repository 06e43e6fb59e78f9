#!/usr/bin/env node
/**
 * Builds the admin console (console/) into dist/console-ui/, which the gateway serves at /console:
 * type-checks it (tsc -p console/tsconfig.json), bundles and minifies console/src/main.tsx and its
 * stylesheet with esbuild (Preact included, nothing loaded from elsewhere at run time), and copies
 * index.html. Fixed file names: the gateway serves them with `Cache-Control: no-cache` (ETag revalidation).
 *
 *   node scripts/build-console.mjs [--root <dir>] [--tsc <path to tsc.js>]
 *
 * Writes nothing on stdout (build-if-stale runs it under `npm run token`); errors go to stderr, exit 1.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' }, tsc: { type: 'string' } } });
const root = resolve(values.root ?? process.cwd());
const tsc = values.tsc ?? join(root, 'node_modules/typescript/bin/tsc');
const source = join(root, 'console');
const out = join(root, 'dist/console-ui');

const check = spawnSync(process.execPath, [tsc, '-p', join(source, 'tsconfig.json')], {
  cwd: root,
  stdio: ['ignore', process.stderr, process.stderr],
});
if (check.status !== 0) {
  process.stderr.write(`Console type check failed (tsc exited with ${check.status ?? check.signal}).\n`);
  process.exit(check.status || 1);
}

const { build } = await import('esbuild');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
try {
  await build({
    entryPoints: { console: join(source, 'src/main.tsx'), 'console-style': join(source, 'src/styles.css') },
    outdir: out,
    entryNames: '[name]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    // Everything the page needs is in these files: no remote import survives the bundle.
    external: [],
    logLevel: 'warning',
    absWorkingDir: root,
  });
} catch {
  process.stderr.write('Console bundle failed (esbuild reported above).\n');
  process.exit(1);
}
// esbuild names a CSS entry after its key: one stylesheet, console.css.
copyFileSync(join(out, 'console-style.css'), join(out, 'console.css'));
rmSync(join(out, 'console-style.css'));
copyFileSync(join(source, 'index.html'), join(out, 'index.html'));
