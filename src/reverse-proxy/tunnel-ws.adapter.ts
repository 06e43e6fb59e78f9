import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage, Server } from 'node:http';
import { TUNNEL_PATH, TUNNEL_PATH_ALIAS } from '../protocol/envelopes.js';
import type { TunnelConnectionGuard } from './tunnel-connection.guard.js';

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * WsAdapter that authenticates the HTTP upgrade itself (refused upgrades get a plain 401/429 and
 * never become sessions), caps frame size, turns compression off, and serves the tunnel on its
 * alias path too.
 */
export class TunnelWsAdapter extends WsAdapter {
  private aliasInstalled = false;

  constructor(
    app: INestApplicationContext,
    private readonly guard: TunnelConnectionGuard,
    private readonly maxPayload: number,
  ) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}) {
    this.installPathAlias();
    return super.create(port, {
      ...options,
      maxPayload: this.maxPayload,
      // Deflate costs CPU and memory per socket for small JSON frames; off unless asked for.
      perMessageDeflate: false,
      verifyClient: (info: { req: IncomingMessage }, done: VerifyCallback) => {
        this.guard.verify(info.req).then(
          (verdict) => (verdict.ok ? done(true) : done(false, verdict.status, verdict.message)),
          () => done(false, 500, 'Internal error'),
        );
      },
    });
  }

  /** The gateway reads frames itself; Nest's `{event, data}` dispatch would parse every frame a second time. */
  override bindMessageHandlers(): void {}

  /** `/reverse-proxy` is the reference gateway's other tunnel URL; rewrite it before the path match. */
  private installPathAlias(): void {
    const server = (this as unknown as { httpServer?: Server }).httpServer;
    if (this.aliasInstalled || !server) return;
    this.aliasInstalled = true;
    server.prependListener('upgrade', (req: IncomingMessage) => {
      const url = req.url ?? '';
      const queryAt = url.indexOf('?');
      const path = queryAt === -1 ? url : url.slice(0, queryAt);
      if (path === TUNNEL_PATH_ALIAS || path === `${TUNNEL_PATH_ALIAS}/`) {
        req.url = TUNNEL_PATH + (queryAt === -1 ? '' : url.slice(queryAt));
      }
    });
  }
}
