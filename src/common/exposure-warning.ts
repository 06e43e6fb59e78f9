import { Logger } from '@nestjs/common';
import { isIP } from 'node:net';
import type { AppConfig } from '../config/app-config.js';

/** Whether a bind address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Logs a loud warning when the gateway takes anonymous callers on an address other machines can
 * reach: anyone on the network may then open tunnels and call every anonymous server.
 * Returns whether it warned.
 */
export function warnIfOpenWithoutAuth(
  config: Pick<AppConfig, 'host' | 'auth'>,
  logger: Pick<Logger, 'warn'> = new Logger('Bootstrap'),
): boolean {
  if (config.auth.required || isLoopbackHost(config.host)) return false;
  logger.warn({
    msg: 'AUTHENTICATION IS OFF on a non-loopback address: anyone who can reach this port may register tunnels and call their servers. Set AUTH_REQUIRED=true (with JWT_SECRET) or HOST=127.0.0.1.',
    host: config.host,
  });
  return true;
}
