import { connect, type Socket } from 'node:net';

/** A raw TCP connection to the gateway: write bytes when you like, see what comes back and when it closes. */
export class RawSocket {
  received = '';
  closedAt: number | undefined;
  readonly openedAt = Date.now();
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  /** Connects to 127.0.0.1:port; resolves once connected. */
  static open(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Writes one byte every `everyMs` until the socket closes or stop() is called. */
  dribble(everyMs: number): { stop: () => void } {
    const timer = setInterval(() => this.write('x'), everyMs);
    void this.closed.then(() => clearInterval(timer));
    return { stop: () => clearInterval(timer) };
  }

  /** Resolves true when closed within `ms`, false otherwise. */
  closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
