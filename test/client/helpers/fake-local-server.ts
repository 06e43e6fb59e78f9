/**
 * An in-process LocalServer for TunnelClient tests: answers the MCP handshake, answers `echo`
 * calls at once and holds `hold` calls until the test answers them, and records every message the
 * tunnel handed it, so tests can count what reached the server.
 */
import type { JsonRpcId, JsonRpcMessage } from '../../../src/protocol/json-rpc.js';
import type { LocalServer, LocalServerFactory } from '../../../src/client/local-server.js';

type Message = Record<string, any>;

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

  /** A factory handing out this one instance (the tests never restart it). */
  get factory(): LocalServerFactory {
    return () => this;
  }

  /** Ids of the requests the tunnel handed over, in order. */
  get requestIds(): JsonRpcId[] {
    return this.received.filter((m) => m.method !== undefined && m.id !== undefined).map((m) => m.id as JsonRpcId);
  }

  async start(): Promise<void> {}

  async send(message: JsonRpcMessage): Promise<void> {
    const m = message as Message;
    if (m.method === 'initialize') {
      this.emit({
        jsonrpc: '2.0',
        id: m.id,
        result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '1.0.0' } },
      });
      return;
    }
    if (m.method === 'notifications/initialized') return;
    this.received.push(m);
    if (m.method === 'echo') this.emit({ jsonrpc: '2.0', id: m.id, result: { text: m.params?.text } });
    else if (m.method === 'hold') this.held.push(m.id as JsonRpcId);
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
