/**
 * A local MCP server run as a child process speaking newline-delimited JSON-RPC on stdio.
 *
 * child_process rather than the SDK's StdioClientTransport, because the tunnel needs what that
 * transport hides: the pid, the exit code, the last stderr lines, and control over how the whole
 * process tree is stopped. The child gets its own process group (POSIX) so that launchers such as
 * `npx` or `uv run` cannot leave their grandchild behind: we signal the group, not just the leader.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { basename } from 'node:path';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonWithin } from '../protocol/json-limits.js';
import { isJsonRpcId, isObject, JsonRpcErrorCode, jsonRpcError, type JsonRpcMessage } from '../protocol/json-rpc.js';
import type { LocalTarget } from './config.js';
import type { LocalServer, LocalServerExit } from './local-server.js';

type StdioTarget = Extract<LocalTarget, { kind: 'stdio' }>;

export interface StdioServerOptions {
  /** Where the child's stderr lines go (they pass through to the user); default process.stderr. */
  stderr?: (line: string) => void;
  /** Grace period between SIGTERM and SIGKILL when stopping. */
  killAfterMs?: number;
  /** stderr lines kept for the crash report. */
  tailLines?: number;
}

const USE_PROCESS_GROUP = process.platform !== 'win32';
/** After `exit`, how long to wait for the pipes to drain so the stderr tail is complete. */
const DRAIN_MS = 500;

/** Children alive in this process, for the last-resort kill when the process exits abruptly. */
const live = new Set<StdioLocalServer>();

/** Kills every child process group at once; synchronous, for process.on('exit'). */
export function killAllChildrenNow(): void {
  for (const server of live) server.killNow();
}

/**
 * What `npx`/`npm exec` sets for the package it runs (this client); an `npx` inside the local
 * command would read them as its own and run the wrong package.
 */
const NPM_EXEC_SETTINGS = new Set(['npm_config_package', 'npm_config_call', 'npm_config_yes']);

/**
 * The child's environment: ours without the tunnel's own settings (MCP_TUNNEL_TOKEN and
 * REVERSE_PROXY_TOKEN are the gateway credential; the local server, often third-party code fetched by npx, has no use for
 * it), plus what the config file sets for this server.
 */
export function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('REVERSE_PROXY_') && !key.startsWith('MCP_TUNNEL_') && !NPM_EXEC_SETTINGS.has(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}

export class StdioLocalServer implements LocalServer {
  readonly protocol = 'stdio' as const;
  readonly label: string;
  onmessage?: (message: unknown) => void;
  onoutput?: (line: string) => void;
  onexit?: (exit: LocalServerExit) => void;

  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly tail: string[] = [];
  private exited: Promise<void> | undefined;
  private gone = false;

  constructor(
    private readonly target: StdioTarget,
    private readonly options: StdioServerOptions = {},
  ) {
    this.label = basename(target.command);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('already started');
    const child = spawn(this.target.command, this.target.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnvironment(this.target.env),
      cwd: this.target.cwd,
      detached: USE_PROCESS_GROUP,
      windowsHide: true,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => {
        this.gone = true;
        reject(err.code === 'ENOENT' ? Object.assign(new Error(`command not found: ${this.target.command}`), { code: 'ENOENT' }) : err);
      });
    });
    live.add(this);
    // Later errors (a failed kill) are not fatal; exit reports what happened.
    child.on('error', () => undefined);
    // Writes to a child that just died fail with EPIPE; the exit event reports it properly.
    child.stdin.on('error', () => undefined);

    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onStdoutLine(line));
    const stderrLines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    const passThrough = this.options.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
    stderrLines.on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > (this.options.tailLines ?? 20)) this.tail.shift();
      passThrough(line);
    });

    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const closed = new Promise<void>((done) => child.once('close', () => done()));
        const drained = new Promise<void>((done) => setTimeout(done, DRAIN_MS).unref());
        void Promise.race([closed, drained]).then(() => {
          this.gone = true;
          live.delete(this);
          // The leader is gone; anything it left in its group goes too.
          this.signalGroup('SIGKILL');
          this.onexit?.({ code, signal, reason: describeExit(code, signal), stderrTail: [...this.tail] });
          resolve();
        });
      });
    });
  }

  send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.gone || stdin.destroyed || !stdin.writable) {
      return Promise.reject(new Error('the local server is not running'));
    }
    return new Promise((resolve, reject) => {
      stdin.write(`${JSON.stringify(message)}\n`, (err) => (err ? reject(err) : resolve()));
    });
  }

  setProtocolVersion(): void {
    // stdio carries no protocol version header.
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.child || !this.exited) return;
    if (this.gone) return this.exited;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), this.options.killAfterMs ?? 5000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  killNow(): void {
    this.signalGroup('SIGKILL');
  }

  private onStdoutLine(line: string): void {
    const text = line.trim();
    if (text === '') return;
    const parsed = parseJsonWithin(text, DEFAULT_MAX_JSON_DEPTH);
    if (parsed.ok) {
      this.onmessage?.(parsed.value);
      return;
    }
    if (parsed.reason === 'invalid') {
      this.onoutput?.(line);
      return;
    }
    // Too deep to forward safely; an answer still ends its call now, as an error, instead of timing out.
    this.onoutput?.(`dropped a message nesting deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
    const message = parsed.shallowOnly;
    if (isObject(message) && !('method' in message) && isJsonRpcId(message.id)) {
      this.onmessage?.(
        jsonRpcError(
          message.id,
          JsonRpcErrorCode.InternalError,
          `The local server's answer nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`,
        ),
      );
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      if (USE_PROCESS_GROUP) process.kill(-pid, signal);
      else this.child?.kill(signal);
    } catch {
      // ESRCH: already gone.
    }
  }
}
