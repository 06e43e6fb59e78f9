/**
 * A local MCP server that already speaks HTTP (Streamable HTTP or the older SSE transport),
 * reached through the official SDK's client transports, used as raw message pipes: the tunnel
 * does its own handshake and relays every message as is.
 */
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
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

  constructor(private readonly target: HttpTarget) {
    this.protocol = target.kind;
    const url = new URL(target.url);
    // Origin and path only: a query string may carry a key.
    this.label = `${url.origin}${url.pathname}`;
  }

  async start(): Promise<void> {
    const url = new URL(this.target.url);
    const transport: Transport =
      this.target.kind === 'sse' ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url);
    transport.onmessage = (message) => this.onmessage?.(message);
    // Failed sends are reported to the sender by send(); this sees the background stream's trouble.
    transport.onerror = (error) => this.onoutput?.(`transport: ${error.message}`);
    transport.onclose = () => this.end('closed the connection');
    this.transport = transport;
    await transport.start();
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (!this.transport || this.ended) throw new Error('the local server is not connected');
    try {
      await this.transport.send(message as JSONRPCMessage);
    } catch (err) {
      // 404 on a session means the server forgot it (restarted): start over with a new handshake.
      if (err instanceof StreamableHTTPError && err.code === 404 && this.transport.sessionId) {
        this.end('lost its session (HTTP 404)');
      }
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
    if (transport instanceof StreamableHTTPClientTransport) {
      // Polite: tell the server the session is over. Servers may refuse (405) or be gone already.
      await transport.terminateSession().catch(() => undefined);
    }
    await transport.close().catch(() => undefined);
    this.onexit?.({ code: null, signal: null, reason: 'was disconnected', stderrTail: [] });
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    void this.transport?.close().catch(() => undefined);
    this.onexit?.({ code: null, signal: null, reason, stderrTail: [] });
  }
}
