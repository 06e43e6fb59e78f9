import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { signToken } from '../../src/auth/sign-token.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { createApp } from '../../src/create-app.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface RunningGateway {
  app: INestApplication;
  config: AppConfig;
  port: number;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  /** ws://127.0.0.1:<port>/reverse-proxy/ws */
  tunnelUrl: string;
  /** A valid token for this gateway. */
  mintToken(sub: string, opts?: { admin?: boolean; expiresIn?: string | number }): string;
  close(): Promise<void>;
}

/** Boots the real gateway (same setup as main.ts) on a free loopback port. */
export async function startGateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  // A short drain: a suite that closes its gateway with calls still hanging should not wait SHUTDOWN_GRACE_MS's 10 s.
  const config = loadConfig({
    JWT_SECRET: TEST_SECRET,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
  const app = await createApp(config, false);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const secret = config.auth.jwtSecret ?? TEST_SECRET;
  return {
    app,
    config,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    tunnelUrl: `ws://127.0.0.1:${port}/reverse-proxy/ws`,
    mintToken: (sub, opts = {}) => signToken({ secret, sub, admin: opts.admin, expiresIn: opts.expiresIn ?? '1h' }),
    close: () => app.close(),
  };
}
