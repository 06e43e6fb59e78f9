import type { TunnelSocket } from '../../src/reverse-proxy/tunnel/tunnel-session.js';

/** A TunnelSocket that records what the session sends and how it closes it. */
export class FakeSocket implements TunnelSocket {
  readonly sent: Record<string, any>[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  closeCalls = 0;

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closeCalls++;
    this.closedWith = { code, reason };
  }
}
