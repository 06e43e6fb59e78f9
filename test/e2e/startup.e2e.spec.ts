/**
 * The gateway's first minutes, as a user meets them: the real process (dist/main.js, built by
 * `pretest`) started in a directory of its own. It prints one start-up block, reads `.env` from its
 * working directory (the environment wins), warns when auth is off on a network address, and stops
 * with one line and exit code 1 when its port is taken. `npm run token` reads the same `.env`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import { freePort, TEST_SECRET } from '../support/gateway.js';
import { eventually } from '../support/wait.js';

const MAIN = resolve(process.cwd(), 'dist/main.js');
const TOKEN_TOOL = resolve(process.cwd(), 'dist/tools/token.js');
const FILE_SECRET = 'a-secret-only-the-env-file-knows';

interface Run {
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
  kill(): void;
}

/** Starts dist/main.js in `cwd` with exactly `env` (plus PATH). */
function run(cwd: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const result: Run = {
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  running.push(result);
  return result;
}

const running: Run[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-start-'));
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.kill();
    await r.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a port already in use: one line on stderr, no stack, exit code 1, and no "successfully started"', async () => {
  const holder: Server = createServer();
  await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
  const port = (holder.address() as { port: number }).port;
  try {
    const gw = run(dir, { JWT_SECRET: TEST_SECRET, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' });
    expect(await gw.exited).toBe(1);
    const lines = gw.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `Cannot start the gateway: Port ${port} on 127.0.0.1 is already in use: stop what holds it, or set PORT to another port.`,
    ]);
    expect(gw.stdout).not.toMatch(/successfully started|Gateway listening|\n\s+at /);
  } finally {
    holder.close();
  }
});

test('.env in the working directory is read, the environment wins over it, and the start-up block says where everything is', async () => {
  const [filePort, envPort] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, '.env'),
    `# the gateway's settings\nJWT_SECRET=${FILE_SECRET}\nPORT=${filePort}\nHOST=127.0.0.1\nLOG_FORMAT=pretty\nMAX_JSON_DEPTH="32"\n`,
  );
  const gw = run(dir, { PORT: String(envPort), LOG_LEVEL: 'info' });
  await eventually(() => gw.stdout.includes('Token'), 'the start-up block', 10_000);
  expect(gw.stdout).toContain(`is listening on http://127.0.0.1:${envPort}`);
  for (const line of [
    `API docs     http://127.0.0.1:${envPort}/docs`,
    `Console      http://127.0.0.1:${envPort}/console`,
    `Tunnel       ws://127.0.0.1:${envPort}/reverse-proxy/ws`,
    `MCP servers  http://127.0.0.1:${envPort}/servers/<name>/mcp`,
    'Auth         required: Authorization: Bearer <JWT, HS256>',
    'Token        npm run token -- --sub you@example.com',
    `Settings     environment, then ${join(dir, '.env')}`,
  ]) {
    expect(gw.stdout).toContain(line);
  }
  // The secret came from the file: a token it signed is accepted, one signed otherwise is not.
  const withFileSecret = await fetch(`http://127.0.0.1:${envPort}/reverse-proxy/sessions`, {
    headers: { Authorization: `Bearer ${hs256(FILE_SECRET, { sub: 'alice@example.com' })}` },
  });
  expect(withFileSecret.status).toBe(200);
  const withOtherSecret = await fetch(`http://127.0.0.1:${envPort}/reverse-proxy/sessions`, {
    headers: { Authorization: `Bearer ${hs256(TEST_SECRET, { sub: 'alice@example.com' })}` },
  });
  expect(withOtherSecret.status).toBe(401);
  expect(gw.stdout + gw.stderr).not.toContain(FILE_SECRET);
});

test('auth off on a network address: a loud warning and the block says it is open', async () => {
  const port = await freePort();
  const gw = run(dir, { AUTH_REQUIRED: 'false', HOST: '0.0.0.0', PORT: String(port), LOG_LEVEL: 'info' });
  await eventually(() => gw.stdout.includes('Gateway listening'), 'the start-up record', 10_000);
  const records = gw.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: string; message: Record<string, string> });
  expect(records.find((r) => r.level === 'warn')?.message.msg).toMatch(/^AUTHENTICATION IS OFF on a non-loopback address/);
  expect(records.find((r) => r.message.msg === 'Gateway listening')?.message).toMatchObject({
    listening: `http://0.0.0.0:${port}`,
    docs: `http://localhost:${port}/docs`,
    console: `http://localhost:${port}/console`,
    auth: expect.stringContaining('OPEN TO THE NETWORK'),
    token: 'none needed (auth off, no JWT_SECRET)',
  });
  // Nest's route listing stays out of an info-level log.
  expect(gw.stdout).not.toContain('Mapped {');
});

test('the token tool (npm run token) reads JWT_SECRET from .env in the working directory; the environment wins', () => {
  writeFileSync(join(dir, '.env'), `JWT_SECRET=${FILE_SECRET}\n`);
  const fromFile = spawnSync(process.execPath, [TOKEN_TOOL, '--sub', 'alice@example.com'], { cwd: dir, env: { PATH: process.env.PATH } });
  expect(fromFile.status).toBe(0);
  expect(verifies(fromFile.stdout.toString().trim(), FILE_SECRET)).toBe(true);
  const fromEnv = spawnSync(process.execPath, [TOKEN_TOOL, '--sub', 'alice@example.com'], {
    cwd: dir,
    env: { PATH: process.env.PATH, JWT_SECRET: TEST_SECRET },
  });
  expect(verifies(fromEnv.stdout.toString().trim(), TEST_SECRET)).toBe(true);
});

/** A minimal HS256 JWT, built here so the test does not trust the code under test to sign. */
function hs256(secret: string, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

function verifies(token: string, secret: string): boolean {
  const [header, payload, signature] = token.split('.');
  return createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url') === signature;
}
