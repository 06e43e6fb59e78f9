/**
 * Keeps one local MCP server running: starts it, does the MCP handshake, restarts it with backoff
 * when it exits, and gives up after too many crashes in a row. Independent of the gateway
 * connection, so the server survives any number of reconnects.
 *
 * A server that has never completed the handshake is not one that crashed: a wrong command, a
 * missing argument, a program that is not an MCP server. It gets STARTUP_RETRIES more tries (a
 * first `npx` download may time out once), none when its answer shows it will never work (it echoes
 * initialize back, like `cat`, or answers it wrongly), and is reported once.
 */
import { CorrelationTable } from '../protocol/correlation-table.js';
import type { JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../protocol/json-rpc.js';
import { classifyJsonRpc, isObject } from '../protocol/json-rpc.js';
import { Backoff, formatDelay } from './backoff.js';
import type { LocalTarget } from './config.js';
import { HandshakeError, initializeLocalServer, type HandshakeResult } from './handshake.js';
import type { LocalServer, LocalServerExit, LocalServerFactory } from './local-server.js';
import type { Logger } from './logger.js';

export interface SupervisorHandlers {
  /** The server is up and initialized (again). */
  ready(handshake: HandshakeResult, server: LocalServer): void;
  /** A message from the server that is not the supervisor's own handshake traffic. */
  message(message: unknown): void;
  /** The server is gone and will be restarted in `restartInMs`; `starting`: it never completed the handshake yet. */
  down(exit: LocalServerExit, restartInMs: number, starting: boolean): void;
  /** The server cannot be kept running; the client should exit with `exitCode`. */
  failed(reason: string, exitCode: number, stderrTail: string[]): void;
}

export interface SupervisorOptions {
  target: LocalTarget;
  create: LocalServerFactory;
  handshakeTimeoutMs: number;
  /** Consecutive crashes tolerated; one more and the supervisor gives up. */
  maxRestarts: number;
  restartDelayMs: number;
  clientInfo: { name: string; version: string };
  logger: Logger;
}

/** What the supervisor remembers of one of its own calls: the method, for the timeout message. */
interface OwnCall {
  method: string;
}

type State = 'idle' | 'starting' | 'ready' | 'down' | 'stopped';

/** Tries after the first for a server that never completed the handshake (at most --max-restarts). */
export const STARTUP_RETRIES = 1;

/** A handshake that failed in a way another try would repeat. */
class HopelessHandshake extends HandshakeError {}

export class LocalSupervisor {
  private state: State = 'idle';
  private server: LocalServer | undefined;
  /** The supervisor's own requests (the handshake), under ids of their own so the gateway's traffic never collides with them. */
  private readonly ownCalls = new CorrelationTable<OwnCall>({
    prefix: 'mcp-tunnel-own-',
    timedOut: (timeoutMs, call) => new HandshakeError(`did not answer ${call.method} within ${formatDelay(timeoutMs)}`),
  });
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Why the current server is being stopped by us, to report instead of "killed by SIGTERM". */
  private stopReason: string | undefined;
  /** The current server's handshake failed for good: no more tries. */
  private hopeless = false;
  /** Some server completed the handshake in this run: exits from then on are crashes, retried up to maxRestarts. */
  private everReady = false;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly handlers: SupervisorHandlers,
  ) {
    this.backoff = new Backoff({ baseMs: options.restartDelayMs });
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** A getter, so TypeScript does not narrow `state` across the awaits in launch(). */
  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  start(): void {
    if (this.state !== 'idle') return;
    void this.launch();
  }

  /** Delivers a message to the running server; rejects when there is none. */
  send(message: JsonRpcMessage): Promise<void> {
    if (this.state !== 'ready' || !this.server) return Promise.reject(new Error('the local server is not running'));
    return this.server.send(message);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    this.ownCalls.failAll(new Error('stopping'));
    const server = this.server;
    this.server = undefined;
    if (server) {
      this.options.logger.info(`stopping the local server${server.pid ? ` (pid ${server.pid})` : ''}`);
      await server.stop();
    }
  }

  private async launch(): Promise<void> {
    const { logger } = this.options;
    const server = this.options.create(this.options.target);
    this.server = server;
    this.state = 'starting';
    this.stopReason = undefined;
    this.hopeless = false;
    server.onmessage = (message) => this.onServerMessage(server, message);
    server.onoutput = (line) => logger.info(`local server: ${line}`);
    server.onexit = (exit) => this.onServerExit(server, exit);
    try {
      await server.start();
    } catch (err) {
      if (this.stopped) return;
      const error = err as NodeJS.ErrnoException;
      this.server = undefined;
      this.state = 'down';
      // A missing command will not appear by retrying; 127 is what a shell exits with for it.
      this.handlers.failed(`cannot start the local server: ${error.message}`, error.code === 'ENOENT' ? 127 : 1, []);
      return;
    }
    logger.info(server.pid !== undefined ? `local server started (pid ${server.pid})` : `connected to the local server at ${server.label}`);

    let handshake: HandshakeResult;
    try {
      handshake = await initializeLocalServer(
        {
          call: (request) => this.call(server, request),
          notify: (notification) => server.send(notification),
          warn: (message) => logger.warn(message),
        },
        this.options.clientInfo,
      );
    } catch (err) {
      if (this.server !== server || this.stopped) return;
      // The exit handler reports it (once) and tries again or gives up.
      this.stopReason =
        err instanceof HandshakeError
          ? err.message.replace(/^the local server /, '')
          : `did not complete the MCP handshake: ${(err as Error).message}`;
      this.hopeless =
        err instanceof HopelessHandshake ||
        !(err instanceof HandshakeError) ||
        /refused initialize|without protocolVersion/.test(err.message);
      void server.stop();
      return;
    }
    if (this.server !== server || this.state !== 'starting') return;
    server.setProtocolVersion(handshake.protocolVersion);
    this.state = 'ready';
    this.everReady = true;
    this.backoff.markUp();
    logger.info(
      `local server ready: ${printable(handshake.serverInfo.name) ?? server.label} ${printable(handshake.serverInfo.version) ?? ''}, protocol ${handshake.protocolVersion}`.trimEnd(),
    );
    this.handlers.ready(handshake, server);
  }

  /** One of the supervisor's own requests (the handshake), answered without involving the tunnel. */
  private call(server: LocalServer, request: JsonRpcRequest): Promise<JsonRpcResponse> {
    const { id, answer } = this.ownCalls.open(request.id, this.options.handshakeTimeoutMs, { method: request.method });
    server.send({ ...request, id }).catch((err: Error) => this.ownCalls.fail(id, err));
    return answer;
  }

  private onServerMessage(server: LocalServer, message: unknown): void {
    if (server !== this.server) return;
    if (this.state === 'starting' && this.echoedOwnCall(message)) return;
    // The handshake's answer stays here (with the handshake's own id back); the gateway never sees it.
    if (classifyJsonRpc(message) === 'response' && this.ownCalls.settle(message as JsonRpcResponse)) return;
    this.handlers.message(message);
  }

  /**
   * A program that copies its input to its output (`cat`, a shell) sends our initialize back as a
   * request: it is not an MCP server, and waiting for its answer would only run out the startup timeout.
   */
  private echoedOwnCall(message: unknown): boolean {
    if (!isObject(message) || message.method !== 'initialize' || (typeof message.id !== 'string' && typeof message.id !== 'number'))
      return false;
    const echoed = new HopelessHandshake(
      'sent our initialize request back instead of answering it: it does not speak MCP on stdio (is the command right?)',
    );
    return this.ownCalls.fail(String(message.id), echoed);
  }

  private onServerExit(server: LocalServer, exit: LocalServerExit): void {
    if (server !== this.server || this.state === 'stopped') return;
    const starting = this.state === 'starting' && !this.everReady;
    this.server = undefined;
    this.state = 'down';
    this.backoff.markDown();
    const reported: LocalServerExit = this.stopReason ? { ...exit, reason: this.stopReason } : exit;
    this.ownCalls.failAll(new HandshakeError(reported.reason));
    const limit = starting ? (this.hopeless ? 0 : Math.min(STARTUP_RETRIES, this.options.maxRestarts)) : this.options.maxRestarts;
    if (this.backoff.attempt >= limit) {
      const crashes = this.backoff.attempt + 1;
      this.handlers.failed(
        `the local server ${reported.reason}${crashes > 1 ? ` (${crashes} times in a row)` : ''}`,
        exit.code !== null && exit.code !== 0 ? exit.code : 1,
        reported.stderrTail,
      );
      return;
    }
    const delay = this.backoff.next();
    this.handlers.down(reported, delay, starting);
    this.restartTimer = setTimeout(() => void this.launch(), delay);
  }
}

/** A serverInfo field for the log: its text when it is a string or a number, else undefined. */
function printable(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}
