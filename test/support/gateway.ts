import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { signToken } from '../../src/auth/sign-token.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface RunningGateway {
  app: INestApplication;
  config: AppConfig;
  port: number;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  /** ws://127.0.0.1:<port>/reverse-proxy/ws */
  tunnelUrl: string;
  /** A valid token for this gateway. */
  mintToken(sub: string, opts?: { admin?: boolean; expiresIn?: string | number }): string;
  close(): Promise<void>;
}

/**
 * Boots the real gateway (same setup as main.ts) in this process on a free loopback port. `logger`
 * replaces the default (none below LOG_LEVEL=error) for a test that reads what the gateway logs.
 */
export async function startGateway(env: Record<string, string> = {}, options: { logger?: LoggerService } = {}): Promise<RunningGateway> {
  // A short drain: a suite that closes its gateway with calls still hanging should not wait SHUTDOWN_GRACE_MS's 10 s.
  const config = loadConfig({
    JWT_SECRET: TEST_SECRET,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
  // Loaded here, not at the top: a suite that only runs the gateway as a process need not load Nest.
  const { createApp } = await import('../../src/create-app.js');
  const app = await createApp(config, options.logger ?? false);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const secret = config.auth.jwtSecret ?? TEST_SECRET;
  return {
    app,
    config,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    tunnelUrl: `ws://127.0.0.1:${port}/reverse-proxy/ws`,
    mintToken: (sub, opts = {}) => signToken({ secret, sub, admin: opts.admin, expiresIn: opts.expiresIn ?? '1h' }),
    close: () => app.close(),
  };
}

export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  /** ws://127.0.0.1:<port>/reverse-proxy/ws */
  tunnelUrl: string;
  /** The last 20 000 characters the process wrote (stdout and stderr). */
  readonly output: string;
  /** Resolves with the signal that ended the process, or its exit code. */
  exited: Promise<NodeJS.Signals | number | null>;
  /** The process's resident set size now, in bytes (Linux /proc). */
  rss(): number;
  /** SIGKILL, unless it has already exited. */
  kill(): void;
}

/**
 * Starts the built gateway (dist/main.js, built by `pretest`) as a child process on a free
 * loopback port, and resolves once /health answers. `env` is the whole environment besides PATH,
 * JWT_SECRET (TEST_SECRET), HOST, PORT and LOG_LEVEL (error), which it may override (a PORT chosen
 * beforehand with freePort(), for a PUBLIC_URL that names it).
 */
export async function startGatewayProcess(env: Record<string, string> = {}, startTimeoutMs = 15_000): Promise<GatewayProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [resolve(process.cwd(), 'dist/main.js')], {
    env: { PATH: process.env.PATH, JWT_SECRET: TEST_SECRET, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<NodeJS.Signals | number | null>((done) => child.once('exit', (code, signal) => done(signal ?? code)));
  const httpUrl = `http://127.0.0.1:${port}`;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway exited at start: ${output}`);
    const up = await fetch(`${httpUrl}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`gateway did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    child,
    port,
    httpUrl,
    tunnelUrl: `ws://127.0.0.1:${port}/reverse-proxy/ws`,
    get output() {
      return output;
    },
    exited,
    rss: () => rssOf(child.pid!),
    kill,
  };
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}
