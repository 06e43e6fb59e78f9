/** The TunnelOptions the in-process TunnelClient specs start from. */
import type { TunnelOptions } from '../../../src/client/config.js';
import { tunnelUrl } from '../../../src/client/gateway-url.js';

/** Options for a resumable tunnel of the stdio server "fake" to the stand-in gateway at `gatewayUrl`, with `overrides`. */
export function testTunnelOptions(gatewayUrl: string, overrides: Partial<TunnelOptions> = {}): TunnelOptions {
  return {
    gatewayUrl: tunnelUrl(gatewayUrl),
    name: 'fake',
    local: { kind: 'stdio', command: 'fake', args: [] },
    insecure: false,
    // A few ms: the reconnect delay of a connection that was not up 5 s (jitter), and the base of the restart delay.
    reconnectDelayMs: 20,
    maxRetries: 0,
    retryForever: false,
    keepaliveMs: 60_000,
    startupTimeoutMs: 5000,
    maxRestarts: 0,
    maxBuffered: 100,
    resume: true,
    resumeBufferBytes: 8 * 1024 * 1024,
    ...overrides,
  };
}
