import type { Duplex } from 'node:stream';

/**
 * Holds a socket's writes until the end of the current event-loop turn, so all the WebSocket
 * frames sent meanwhile leave in one write instead of one syscall each. Under load many calls are
 * relayed per turn, and loopback/TCP writes were the largest single cost of relaying them; a lone
 * frame waits only for the rest of the turn (setImmediate), not for a timer.
 */
export class WriteCoalescer {
  private holding = false;

  constructor(private readonly socket: Duplex) {}

  /** Call before each write on the socket. */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.socket.cork();
    setImmediate(this.release);
  }

  private readonly release = (): void => {
    this.holding = false;
    this.socket.uncork();
  };
}
