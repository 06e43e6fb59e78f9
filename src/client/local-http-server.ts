/**
 * A local MCP server that already speaks HTTP (Streamable HTTP or the older SSE transport),
 * reached through the official SDK's client transports, used as raw message pipes: the tunnel
 * does its own handshake and relays every message as is.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { JsonRpcMessage } from '../protocol/json-rpc.js';
import type { LocalTarget } from './config.js';
import type { LocalServer, LocalServerExit } from './local-server.js';

type HttpTarget = Extract<LocalTarget, { kind: 'streamable-http' | 'sse' }>;

export class HttpLocalServer implements LocalServer {
  readonly protocol: 'streamable-http' | 'sse';
  readonly label: string;
  readonly pid = undefined;
  onmessage?: (message: unknown) => void;
  onoutput?: (line: string) => void;
  onexit?: (exit: LocalServerExit) => void;

  private transport: Transport | undefined;
  private ended = false;
  /**
   * Errors already accounted for: the SDK reports one failed GET stream twice (its own catch, then
   * its caller's), and a failed send to onerror as well as to the sender, who reports it.
   */
  private readonly reported = new WeakSet<Error>();
  /** Loaded on start: stdio-only runs never pay for the HTTP client stack. */
  private isSessionLost: (err: unknown) => boolean = () => false;

  constructor(private readonly target: HttpTarget) {
    this.protocol = target.kind;
    const url = new URL(target.url);
    // Origin and path only: a query string may carry a key.
    this.label = `${url.origin}${url.pathname}`;
  }

  async start(): Promise<void> {
    const url = new URL(this.target.url);
    let transport: Transport;
    if (this.target.kind === 'sse') {
      const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
      transport = new SSEClientTransport(url);
    } else {
      const { StreamableHTTPClientTransport, StreamableHTTPError } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
      transport = new StreamableHTTPClientTransport(url);
      // 404 on a session means the server forgot it (restarted): start over with a new handshake.
      this.isSessionLost = (err) => err instanceof StreamableHTTPError && err.code === 404 && transport.sessionId !== undefined;
    }
    transport.onmessage = (message) => this.onmessage?.(message);
    transport.onerror = (error) => this.report(error);
    transport.onclose = () => this.end('closed the connection');
    this.transport = transport;
    await transport.start();
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (!this.transport || this.ended) throw new Error('the local server is not connected');
    try {
      await this.transport.send(message as JSONRPCMessage);
    } catch (err) {
      if (err instanceof Error) this.reported.add(err);
      if (this.isSessionLost(err)) this.end('lost its session (HTTP 404)');
      throw err;
    }
  }

  setProtocolVersion(version: string): void {
    this.transport?.setProtocolVersion?.(version);
  }

  async stop(): Promise<void> {
    const transport = this.transport;
    if (!transport || this.ended) return;
    this.ended = true;
    if (this.target.kind === 'streamable-http') {
      // Polite: tell the server the session is over. Servers may refuse (405) or be gone already.
      await (transport as StreamableHTTPClientTransport).terminateSession().catch(() => undefined);
    }
    await transport.close().catch(() => undefined);
    this.onexit?.({ code: null, signal: null, reason: 'was disconnected', stderrTail: [] });
  }

  /**
   * Shows the background streams' trouble, once per error. Deferred a turn: the SDK calls onerror
   * before a failed send's rejection reaches send(), which claims it for its caller.
   */
  private report(error: Error): void {
    // Once ended, the streams our own close aborts are no news (what ended it was reported before).
    if (this.ended) return;
    setImmediate(() => {
      if (this.reported.has(error)) return;
      this.reported.add(error);
      this.onoutput?.(`transport: ${error.message}`);
    });
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    void this.transport?.close().catch(() => undefined);
    this.onexit?.({ code: null, signal: null, reason, stderrTail: [] });
  }
}
