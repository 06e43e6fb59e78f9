/**
 * Runs the built CLI (dist/client/cli.js, built by `pretest`) as a real child process and lets
 * tests wait for its log lines and exit. Every process started here is killed by `killAll()`,
 * including the local servers the CLI reported starting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(process.cwd(), 'dist/client/cli.js');
export const FIXTURE = resolve(process.cwd(), 'test/fixtures/stdio-mcp-server.mjs');
/** The fixture as a --local-stdio command (paths quoted, as a user would). */
export const FIXTURE_COMMAND = `node "${FIXTURE}"`;

/** Every CLI started since the last killAll(), exited or not. */
const started = new Set<CliProcess>();

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls a condition (not a timing assertion: only how long we are willing to wait). */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(args: string[], env: Record<string, string | undefined> = {}) {
    // No inherited REVERSE_PROXY_* settings: each test says exactly what the CLI gets.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REVERSE_PROXY_')));
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      }),
    );
    started.add(this);
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Waits until the CLI's stderr matches; returns the match. */
  async waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null;
    await waitUntil(() => (match = this.stderr.match(pattern)) !== null || this.hasExited, `log ${pattern}`, timeoutMs).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n--- CLI stderr ---\n${this.stderr}`);
      },
    );
    if (!match)
      throw new Error(`the CLI exited (${JSON.stringify(this.exitInfo)}) before logging ${pattern}\n--- CLI stderr ---\n${this.stderr}`);
    return match;
  }

  /** Pids of the local servers the CLI reported starting, in order. */
  get serverPids(): number[] {
    return [...this.stderr.matchAll(/local server started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  }

  async waitForExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the CLI did not exit\n--- CLI stderr ---\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.hasExited) this.child.kill(signal);
  }
}

/** afterEach: no CLI and no local server outlives its test. */
export async function killAll(): Promise<void> {
  const all = [...started];
  started.clear();
  for (const cli of all) {
    cli.kill('SIGKILL');
    for (const pid of cli.serverPids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(all.map((cli) => cli.exited));
}
