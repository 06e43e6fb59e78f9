#!/usr/bin/env node
/**
 * npm run pack:client — an installable tarball of the tunnel client alone: package `mcp-tunnel`, bin
 * `mcp-tunnel`, no Nest. Prints the tarball's absolute path as its last line (in .packs/, git-ignored).
 *
 * The client is bundled (esbuild) into one file with no dependencies: installed, it is about 1 MB.
 * As plain dependencies, the MCP SDK alone would bring express, hono, ajv and zod (about 30 MB), while
 * the client uses two of its transports and one constant. The bundle starts from the tsc output
 * (dist/client/cli.js, rebuilt by scripts/build-if-stale.mjs when src/ changed), so it is the code the
 * tests run; it stops the pack if the client reaches Nest, a file outside src/client and src/protocol,
 * or a package that is not a runtime dependency of the root package.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the bin is, in dist/ and in the package: cli.js reads its version from ../../package.json. */
const ENTRY = 'dist/client/cli.js';
const OUT_DIR = join(ROOT, '.packs');
/** The client's floor: what its code and the packages it bundles ask for (the gateway's is higher). */
const NODE_ENGINES = '>=20.11';
const NODE_MAJOR = 20;
/** Never in the client, whatever the code says: the point of the package. */
const FORBIDDEN = /(^|\/)node_modules\/@nestjs\//;

const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** npm itself: the one running this script when there is one, else the one on PATH. */
function npm(args, cwd) {
  const [cmd, pre] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  // stdout is ours (the last line is the tarball): what npm prints goes to stderr, unless captured.
  const result = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) fail(`npm ${args.join(' ')} failed (${result.status ?? result.signal})\n${result.stdout ?? ''}`);
  return result.stdout;
}

class PackError extends Error {}

function fail(message) {
  throw new PackError(message);
}

/** The package folder of a bundled input (`node_modules/a/node_modules/@b/c/x.js` -> `node_modules/a/node_modules/@b/c`). */
function packageDir(input) {
  return /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
}

/** One file with everything ENTRY reaches: the client's code and the parts of its packages it uses. */
async function bundle(outfile) {
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${NODE_MAJOR}`,
    // ws loads these native speed-ups only if they are installed, in a try/catch.
    external: ['bufferutil', 'utf-8-validate'],
    // CommonJS packages (ws, commander) call require(): an ES module has none until it makes one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(metafile.inputs);
  for (const input of inputs) {
    if (FORBIDDEN.test(input)) fail(`the client reaches ${input}`);
    if (!packageDir(input) && !/^dist\/(client|protocol)\//.test(input)) fail(`the client reaches ${input}`);
  }
  // What our own code imports must be a runtime dependency of the root package, not a devDependency.
  const direct = new Set();
  for (const input of inputs.filter((i) => !packageDir(i))) {
    for (const { path, external } of metafile.inputs[input].imports) {
      const dir = !external && packageDir(path);
      if (dir) direct.add(JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).name);
    }
  }
  for (const name of direct)
    if (!rootPkg.dependencies?.[name]) fail(`the client imports ${name}, not in the root package.json's dependencies`);
  return [...new Set(inputs.map(packageDir).filter(Boolean))].sort();
}

/** The licence of every package the bundle holds parts of: MIT and ISC ask for their notice to go along. */
function thirdPartyLicenses(dirs) {
  const sections = dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const file = readdirSync(join(ROOT, dir)).find((name) => /^licen[cs]e(\.(md|txt))?$/i.test(name));
    const text = file ? readFileSync(join(ROOT, dir, file), 'utf8').trim() : `License: ${pkg.license ?? 'see the package'}`;
    return `${pkg.name}@${pkg.version} (${pkg.license ?? 'no licence field'})\n\n${text}\n`;
  });
  return `mcp-tunnel bundles parts of these packages.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

function packageReadme(version) {
  return `# mcp-tunnel

The tunnel client of the MCP tunnel gateway (version ${version}): runs next to a local MCP server
(stdio, Streamable HTTP or SSE), holds one outbound WebSocket to the gateway, registers the server
and relays JSON-RPC both ways, reconnecting by itself. Node.js ${NODE_ENGINES.replace('>=', '')} or newer.

\`\`\`bash
mcp-tunnel --local-stdio "npx -y @modelcontextprotocol/server-everything" \\
  --gateway wss://gateway.example.com --token "$TOKEN"
mcp-tunnel --help
\`\`\`

The token may come from \`REVERSE_PROXY_TOKEN\` and the gateway from \`REVERSE_PROXY_GATEWAY\`
instead. Every option, the config file and what happens when things go wrong: the gateway
repository's README ("Tunnel a local server").
`;
}

async function main() {
  // dist/ rebuilt when src/ changed since the last build (the script prints nothing on stdout, which is ours).
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-if-stale.mjs'), '--root', ROOT], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0) fail(`the build failed (${built.status ?? built.signal})`);
  const stage = mkdtempSync(join(tmpdir(), 'mcp-tunnel-pack-'));
  try {
    const bundled = await bundle(join(stage, ENTRY));
    const pkg = {
      name: 'mcp-tunnel',
      version: rootPkg.version,
      description: 'Tunnel client of the MCP tunnel gateway: shares a local MCP server through the gateway over one outbound WebSocket.',
      type: 'module',
      license: rootPkg.license,
      engines: { node: NODE_ENGINES },
      bin: { 'mcp-tunnel': ENTRY },
      files: ['dist', 'THIRD-PARTY-LICENSES.txt'],
    };
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    writeFileSync(join(stage, 'README.md'), packageReadme(rootPkg.version));
    writeFileSync(join(stage, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(bundled));
    mkdirSync(OUT_DIR, { recursive: true });
    const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', OUT_DIR], stage));
    const names = bundled.map((dir) => dir.replace(/.*node_modules\//, ''));
    process.stderr.write(
      `pack:client: ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked, ${(packed.size / 1024).toFixed(0)} kB packed; bundles ${names.join(', ')}\n`,
    );
    process.stdout.write(`${join(OUT_DIR, packed.filename)}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`pack:client: ${err instanceof PackError ? err.message : err.stack}\n`);
  process.exitCode = 1;
});
