/**
 * An in-process LocalServer for TunnelClient tests: answers the MCP handshake (with the name and
 * capabilities it was given), answers `echo` calls at once and holds `hold` calls until the test
 * answers them, takes `resources/subscribe` / `resources/unsubscribe` (refusing URIs that start with
 * `refuse:`), can crash, and records every message the tunnel handed it, so tests can count what
 * reached the server. FakeLocalServers hands out a new one per (re)start.
 */
import type { JsonRpcId, JsonRpcMessage } from '../../../src/protocol/json-rpc.js';
import type { LocalServer, LocalServerFactory } from '../../../src/client/local-server.js';

type Message = Record<string, any>;

export interface FakeLocalServerOptions {
  /** serverInfo.name; default "fake". */
  name?: string;
  /** The initialize result's capabilities; default `{ tools: {} }`. */
  capabilities?: Record<string, unknown>;
  /** start() waits until release() (a server slow to come back). */
  holdStart?: boolean;
}

export class FakeLocalServer implements LocalServer {
  readonly protocol = 'stdio' as const;
  readonly label = 'fake';
  readonly pid = undefined;
  onmessage?: (message: unknown) => void;
  onoutput?: (line: string) => void;
  onexit?: (exit: { code: number | null; signal: NodeJS.Signals | null; reason: string; stderrTail: string[] }) => void;
  /** Every message the tunnel delivered after the handshake, in order. */
  readonly received: Message[] = [];
  /** Ids of `hold` calls not answered yet. */
  readonly held: JsonRpcId[] = [];
  /** URIs subscribed to, as the server holds them. */
  readonly subscribed = new Set<string>();
  private releaseStart: (() => void) | undefined;
  private readonly started: Promise<void>;

  constructor(private readonly options: FakeLocalServerOptions = {}) {
    this.started = options.holdStart ? new Promise((resolve) => (this.releaseStart = resolve)) : Promise.resolve();
  }

  /** A factory handing out this one instance (the tests never restart it). */
  get factory(): LocalServerFactory {
    return () => this;
  }

  /** Ids of the requests the tunnel handed over, in order. */
  get requestIds(): JsonRpcId[] {
    return this.received.filter((m) => m.method !== undefined && m.id !== undefined).map((m) => m.id as JsonRpcId);
  }

  async start(): Promise<void> {
    await this.started;
  }

  /** Lets a `holdStart` server finish starting. */
  release(): void {
    this.releaseStart?.();
  }

  async send(message: JsonRpcMessage): Promise<void> {
    const m = message as Message;
    if (m.method === 'initialize') {
      this.emit({
        jsonrpc: '2.0',
        id: m.id,
        result: {
          protocolVersion: m.params.protocolVersion,
          capabilities: this.options.capabilities ?? { tools: {} },
          serverInfo: { name: this.options.name ?? 'fake', version: '1.0.0' },
        },
      });
      return;
    }
    if (m.method === 'notifications/initialized') return;
    this.received.push(m);
    if (m.method === 'echo') this.emit({ jsonrpc: '2.0', id: m.id, result: { text: m.params?.text } });
    else if (m.method === 'hold') this.held.push(m.id as JsonRpcId);
    else if (m.method === 'resources/subscribe' || m.method === 'resources/unsubscribe') this.subscription(m);
  }

  private subscription(m: Message): void {
    const uri = String(m.params?.uri);
    if (uri.startsWith('refuse:')) {
      this.emit({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: `no such resource: ${uri}` } });
      return;
    }
    if (m.method === 'resources/subscribe') this.subscribed.add(uri);
    else this.subscribed.delete(uri);
    this.emit({ jsonrpc: '2.0', id: m.id, result: {} });
  }

  /** The process dies: the supervisor sees it exit with `code`. */
  crash(code = 3): void {
    this.onexit?.({ code, signal: null, reason: `exited with code ${code}`, stderrTail: [] });
  }

  /** Answers a held call. */
  answer(id: JsonRpcId, text = `answer to ${String(id)}`): void {
    this.held.splice(this.held.indexOf(id), 1);
    this.emit({ jsonrpc: '2.0', id, result: { text } });
  }

  /** The server speaks on its own: a notification. */
  notify(method: string, params: Message = {}): void {
    this.emit({ jsonrpc: '2.0', method, params });
  }

  setProtocolVersion(): void {}

  async stop(): Promise<void> {
    this.onexit?.({ code: 0, signal: null, reason: 'stopped', stderrTail: [] });
  }

  /** As a real server would: later, not inside the call that caused it. */
  private emit(message: Message): void {
    queueMicrotask(() => this.onmessage?.(message));
  }
}

/** A LocalServerFactory handing out a new FakeLocalServer per start (the first, then each restart), made with `options(n)` (n from 0). */
export class FakeLocalServers {
  readonly all: FakeLocalServer[] = [];

  constructor(private readonly options: (n: number) => FakeLocalServerOptions = () => ({})) {}

  readonly factory: LocalServerFactory = () => {
    const server = new FakeLocalServer(this.options(this.all.length));
    this.all.push(server);
    return server;
  };
}
