/**
 * A stand-in gateway for the tunnel client's e2e tests: a real `ws` server on the tunnel path
 * that records every frame, so tests can assert exactly what the client sends, and can refuse
 * upgrades, drop connections or stay silent on demand. Resumption is played by the test itself,
 * frame by frame (registerAck, sendNumbered).
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { frameText } from '../../../src/protocol/frame-text.js';

export type Frame = Record<string, any>;

interface Waiter<T> {
  match: (value: T) => boolean;
  resolve: (value: T) => void;
}

/** Values that arrive over time; `next` takes the first match, already arrived or yet to come. */
class Inbox<T> {
  readonly all: T[] = [];
  private readonly unclaimed: T[] = [];
  private waiters: Waiter<T>[] = [];

  push(value: T): void {
    this.all.push(value);
    const waiter = this.waiters.find((w) => w.match(value));
    if (waiter) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(value);
      return;
    }
    this.unclaimed.push(value);
  }

  next(match: (value: T) => boolean, what: string, timeoutMs: number): Promise<T> {
    const at = this.unclaimed.findIndex(match);
    if (at !== -1) return Promise.resolve(this.unclaimed.splice(at, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        match,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

export class MockConnection {
  readonly frames = new Inbox<Frame>();
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly sessionId: string;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
    index: number,
  ) {
    this.sessionId = `session-${index}`;
    ws.on('message', (data) => this.frames.push(JSON.parse(frameText(data)) as Frame));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** The next frame (optionally of a type / matching a predicate) the client sent. */
  next(match: string | ((f: Frame) => boolean) = () => true, timeoutMs = 10_000): Promise<Frame> {
    const predicate = typeof match === 'string' ? (f: Frame) => f.type === match : match;
    return this.frames.next(predicate, typeof match === 'string' ? `a "${match}" frame` : 'a frame', timeoutMs);
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a JSON-RPC payload to the local server in a `request` envelope. */
  deliver(payload: Frame): void {
    this.send({ type: 'request', sessionId: this.sessionId, payload: { jsonrpc: '2.0', ...payload } });
  }

  /** Calls the local server and waits for the `response` frame with that id. */
  async call(id: string | number, method: string, params?: Frame): Promise<Frame> {
    this.deliver({ id, method, params });
    const frame = await this.next((f) => f.type === 'response' && f.payload?.id === id);
    return frame.payload as Frame;
  }

  ack(status: 'success' | 'error' = 'success', message?: string): void {
    this.send({ type: 'register_ack', sessionId: this.sessionId, status, ...(message ? { message } : {}) });
    if (status === 'success') this.send({ type: 'register_complete', sessionId: this.sessionId, status: 'success' });
  }

  /** A successful register_ack with extra fields (resumption: resumeToken, resumed, lastReceived, ...), without register_complete. */
  registerAck(fields: Frame = {}): void {
    this.send({ type: 'register_ack', sessionId: this.sessionId, status: 'success', ...fields });
  }

  registerComplete(sessionId = this.sessionId): void {
    this.send({ type: 'register_complete', sessionId, status: 'success' });
  }

  /** A numbered `request` frame of a resumable session carrying a JSON-RPC payload. */
  sendNumbered(seq: number, ack: number, payload: Frame): void {
    this.send({ type: 'request', sessionId: this.sessionId, payload: { jsonrpc: '2.0', ...payload }, seq, ack });
  }
}

export interface MockGatewayOptions {
  /** Answer every register with ack + complete (default true). */
  autoAck?: boolean;
  /** Answer pings (default true); off simulates a gateway that went silent. */
  autoPong?: boolean;
  /** Serve wss:// with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

export class MockGateway {
  readonly connections = new Inbox<MockConnection>();
  /** Upgrade attempts, including refused ones. */
  attempts = 0;
  /** When set, upgrades are refused with this HTTP status. */
  refuseWith: number | undefined;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
    private readonly scheme: 'http' | 'https' = 'http',
  ) {}

  static async start(options: MockGatewayOptions = {}): Promise<MockGateway> {
    const notFound = (_req: IncomingMessage, res: import('node:http').ServerResponse) => res.writeHead(404).end();
    const http: Server = options.tls ? createTlsServer(options.tls, notFound) : createServer(notFound);
    let gateway: MockGateway | undefined;
    const wss = new WebSocketServer({
      server: http,
      path: '/reverse-proxy/ws',
      autoPong: options.autoPong ?? true,
      verifyClient: (_info, done) => {
        gateway!.attempts++;
        if (gateway!.refuseWith !== undefined) done(false, gateway!.refuseWith, 'Refused by the test');
        else done(true);
      },
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    gateway = new MockGateway(http, wss, (http.address() as AddressInfo).port, options.tls ? 'https' : 'http');
    let index = 0;
    wss.on('connection', (ws, req) => {
      const conn = new MockConnection(ws, req, ++index);
      if (options.autoAck ?? true) {
        ws.on('message', (data) => {
          if ((JSON.parse(frameText(data)) as Frame).type === 'register') conn.ack();
        });
      }
      gateway.connections.push(conn);
    });
    return gateway;
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  nextConnection(timeoutMs = 10_000): Promise<MockConnection> {
    return this.connections.next(() => true, 'a tunnel connection', timeoutMs);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
