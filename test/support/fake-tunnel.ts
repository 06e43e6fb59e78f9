import WebSocket from 'ws';
import { frameText } from '../../src/protocol/frame-text.js';

export type Frame = Record<string, any>;

/**
 * A tunnel client speaking raw frames, for driving the gateway in e2e tests: collects every frame
 * it receives and lets a test wait for the next one matching a predicate.
 */
export class FakeTunnel {
  readonly frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(frameText(data)) as Frame;
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
  }

  /** Opens a tunnel; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<FakeTunnel> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, ...options });
      const tunnel = new FakeTunnel(ws);
      ws.once('open', () => resolve(tunnel));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  /** Connects with a bearer token and registers a server; resolves with the session id. */
  static async register(
    url: string,
    token: string | undefined,
    server: Frame = { name: 'test-server', capabilities: { tools: {} } },
  ): Promise<{ tunnel: FakeTunnel; sessionId: string }> {
    const tunnel = await FakeTunnel.connect(url, token ? { Authorization: `Bearer ${token}` } : {});
    tunnel.send({ type: 'register', server });
    const ack = await tunnel.next((f) => f.type === 'register_ack');
    if (ack.status !== 'success') throw new Error(`register failed: ${ack.message}`);
    if (server.capabilities) await tunnel.next((f) => f.type === 'register_complete');
    return { tunnel, sessionId: ack.sessionId };
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) that matches. */
  next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  /** Answers every `request` envelope whose payload is a JSON-RPC request with `answer(payload)`. */
  autoAnswer(answer: (payload: Frame) => Frame | undefined): void {
    this.ws.on('message', (data) => {
      const frame = JSON.parse(frameText(data)) as Frame;
      if (frame.type !== 'request' || frame.payload?.id === undefined || !frame.payload?.method) return;
      const reply = answer(frame.payload);
      if (reply) this.send({ type: 'response', payload: { jsonrpc: '2.0', id: frame.payload.id, ...reply } });
    });
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

/** Closes every tunnel still open and empties the list (an afterEach's clean-up). */
export async function closeTunnels(tunnels: FakeTunnel[]): Promise<void> {
  await Promise.all(
    tunnels
      .splice(0)
      .filter((t) => t.ws.readyState !== WebSocket.CLOSED)
      .map((t) => t.close()),
  );
}
