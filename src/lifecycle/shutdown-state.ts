import { Injectable } from '@nestjs/common';

export { SHUTTING_DOWN } from '../reverse-proxy/tunnel/call-error.js';

/**
 * Whether the gateway is draining: once it is, readiness fails and new HTTP requests and tunnels
 * are refused, while calls in flight get a grace period (DrainService).
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;

  /** True from the start of the drain on. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Starts the drain; later calls change nothing. */
  begin(now = Date.now()): void {
    this.drainingSince ??= now;
  }
}
