import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import WebSocket from 'ws';
import { frameText } from '../../src/protocol/frame-text.js';

/**
 * An SDK server's transport whose other end is the gateway: it speaks the tunnel protocol over one
 * WebSocket, like the tunnel client does for a stdio server, and records every message the server
 * is given so tests can see what reached it.
 */
class TunnelServerTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Every JSON-RPC message the gateway sent down, in order. */
  readonly received: JSONRPCMessage[] = [];

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(frameText(data)) as { type: string; payload?: JSONRPCMessage };
      if (frame.type !== 'request' || !frame.payload) return;
      this.received.push(frame.payload);
      this.onmessage?.(frame.payload);
    });
    ws.on('close', () => this.onclose?.());
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    const type = 'method' in message ? ('id' in message ? 'request' : 'notification') : 'response';
    this.ws.send(JSON.stringify({ type, payload: message }));
  }

  async close(): Promise<void> {
    this.ws.close();
  }
}

export interface TunnelledServer {
  server: McpServer;
  /** Messages the server received from the gateway. */
  received: JSONRPCMessage[];
  /** The tunnel's session id at the gateway. */
  sessionId: string;
  /** Resolves once a received message matches (checks those already received first). */
  waitFor(match: (m: JSONRPCMessage) => boolean): Promise<JSONRPCMessage>;
  /** Drops the tunnel; resolves when the socket is closed. */
  close(): Promise<void>;
}

/**
 * Serves an SDK McpServer through the gateway under `name`. Registers without capabilities, so the
 * gateway initializes the server through the tunnel and registers what it answers.
 */
export async function serveThroughTunnel(
  tunnelUrl: string,
  token: string | undefined,
  name: string,
  server: McpServer,
): Promise<TunnelledServer> {
  const ws = new WebSocket(tunnelUrl, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const transport = new TunnelServerTransport(ws);
  await server.connect(transport);
  const waiters: { match: (m: JSONRPCMessage) => boolean; resolve: (m: JSONRPCMessage) => void }[] = [];
  const notify = transport.onmessage!;
  transport.onmessage = (message) => {
    notify(message);
    for (const waiter of [...waiters]) {
      if (waiter.match(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  };
  const sessionId = await new Promise<string>((resolve, reject) => {
    let acked = '';
    ws.on('message', (data) => {
      const frame = JSON.parse(frameText(data)) as { type: string; status?: string; sessionId?: string; message?: string };
      if (frame.type === 'register_ack' && frame.status !== 'success') reject(new Error(`register failed: ${frame.message}`));
      if (frame.type === 'register_ack') acked = frame.sessionId ?? '';
      if (frame.type === 'register_complete') {
        if (frame.status === 'success') resolve(acked);
        else reject(new Error(`register failed: ${frame.message}`));
      }
    });
    ws.once('close', () => reject(new Error('tunnel closed during registration')));
    ws.send(JSON.stringify({ type: 'register', server: { name } }));
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return {
    server,
    received: transport.received,
    sessionId,
    waitFor: (match) => {
      const seen = transport.received.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: async () => {
      if (ws.readyState !== WebSocket.CLOSED) {
        ws.close();
        await closed;
      }
      await server.close().catch(() => undefined);
    },
  };
}
