/**
 * `npm run pack:client`, the tunnel client alone (package mcp-tunnel), installed into an empty folder
 * and run against the real gateway: stdio, and the two HTTP transports the bundle takes from the SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { eventually } from '../support/wait.js';
import { cleanEnv, filesUnder, npm, ROOT, sizeOf } from './packages.js';

const FIXTURE_COMMAND = `node "${resolve(ROOT, 'test/fixtures/stdio-mcp-server.mjs')}"`;
/** "A few MB": the gateway's own node_modules is over 150 MB. */
const MAX_CLIENT_INSTALL_BYTES = 5 * 1024 * 1024;
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const scratch: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('npm run pack:client, installed into an empty folder', () => {
  let tarball: string;
  let installDir: string;
  let bin: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const { stdout } = await npm(['run', '--silent', 'pack:client'], ROOT);
    tarball = stdout.trim().split('\n').at(-1)!;
    installDir = tempDir('mcp-tunnel-install-');
    writeFileSync(join(installDir, 'package.json'), '{ "private": true }\n');
    await npm(['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], installDir);
    bin = join(installDir, 'node_modules/.bin/mcp-tunnel');
  }, 120_000);

  afterEach(async () => {
    const running = children.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(running.map((child) => new Promise((done) => child.once('exit', done).kill('SIGKILL'))));
  });

  /** The installed bin, run from the install folder; stderr (its log) collected. */
  function startClient(args: string[]): { child: ChildProcess; stderr: () => string } {
    const child = spawn(bin, args, { cwd: installDir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return { child, stderr: () => stderr };
  }

  async function runClient(args: string[]): Promise<{ code: number | null; stdout: string }> {
    const child = spawn(bin, args, { cwd: installDir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    return { code, stdout };
  }

  test('prints the absolute path of a tarball named mcp-tunnel as its last line', () => {
    expect(isAbsolute(tarball)).toBe(true);
    expect(existsSync(tarball)).toBe(true);
    expect(tarball).toMatch(new RegExp(`mcp-tunnel-${rootPkg.version.replace(/\./g, '\\.')}\\.tgz$`));
  });

  test('installs the client alone: one bundled file, no dependencies, no Nest, a few MB', () => {
    const installed = join(installDir, 'node_modules/mcp-tunnel');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: 'mcp-tunnel',
      version: rootPkg.version,
      type: 'module',
      bin: { 'mcp-tunnel': 'dist/client/cli.js' },
    });
    expect(pkg.dependencies).toBeUndefined();
    expect(filesUnder(installed).sort()).toEqual(['README.md', 'THIRD-PARTY-LICENSES.txt', 'dist/client/cli.js', 'package.json']);
    // npm put nothing else in the folder: the client needs no package of its own.
    expect(filesUnder(join(installDir, 'node_modules')).filter((f) => !f.startsWith('mcp-tunnel/') && !f.startsWith('.'))).toEqual([]);
    expect(readFileSync(join(installed, 'dist/client/cli.js'), 'utf8')).not.toContain('@nestjs/');
    expect(sizeOf(join(installDir, 'node_modules'))).toBeLessThan(MAX_CLIENT_INSTALL_BYTES);
    // What the bundle holds keeps its licence notice.
    const notices = readFileSync(join(installed, 'THIRD-PARTY-LICENSES.txt'), 'utf8');
    for (const name of ['@modelcontextprotocol/sdk', 'ws', 'commander', 'yaml', 'zod']) expect(notices).toContain(`\n${name}@`);
  });

  test('the installed bin runs: --help prints the usage, --version the package version', async () => {
    const help = await runClient(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mcp-tunnel \[options\]/);
    expect(help.stdout).toContain('--local-stdio <command>');
    const version = await runClient(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${rootPkg.version}\n` });
  });

  describe('against the real gateway', () => {
    let gw: RunningGateway;
    let httpServer: ChildProcess;
    let httpPort: number;

    beforeAll(async () => {
      gw = await startGateway();
      httpServer = spawn(process.execPath, [resolve(ROOT, 'test/fixtures/http-mcp-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
      httpPort = await new Promise<number>((done, fail) => {
        httpServer.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          const match = /listening (\d+)/.exec(chunk);
          if (match) done(Number(match[1]));
        });
        httpServer.once('exit', (code) => fail(new Error(`the HTTP fixture exited with ${code}`)));
      });
    });
    afterAll(async () => {
      await new Promise((done) => httpServer.once('exit', done).kill());
      await gw.close();
    });

    // stdio is the client's own code; the HTTP transports are the MCP SDK's, loaded by import() from the bundle.
    test.each([
      ['--local-stdio', () => FIXTURE_COMMAND],
      ['--local-streamable-http', () => `http://127.0.0.1:${httpPort}/mcp`],
      ['--local-sse', () => `http://127.0.0.1:${httpPort}/sse`],
    ])(
      '%s: registers with the gateway and relays a tool call',
      async (flag, target) => {
        const token = gw.mintToken('packaged@example.com');
        const name = `packaged-${flag.slice(2)}`;
        const client = startClient([flag, target(), '--gateway', gw.httpUrl, '--token', token, '--name', name]);
        const sessionId = await eventually(
          () => /registered as "[^"]+"/.test(client.stderr()) && /connected as session (\S+)/.exec(client.stderr())?.[1],
          'registration',
          20_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n--- client stderr ---\n${client.stderr()}`);
        });

        const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: name } } }),
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: name }] } });

        const exited = new Promise((done) => client.child.once('exit', done));
        client.child.kill('SIGTERM');
        expect(await exited).toBe(0);
      },
      30_000,
    );
  });
});
