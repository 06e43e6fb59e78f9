import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage, Server } from 'node:http';
import { TUNNEL_PATH, TUNNEL_PATH_ALIAS } from '../../protocol/envelopes.js';
import type { TunnelAdmission } from './tunnel-admission.js';
import { SHUTTING_DOWN } from './call-error.js';

type WsServer = { on(event: string, listener: (arg: never) => void): unknown };
type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * WsAdapter that admits the HTTP upgrade itself (TunnelAdmission: refused upgrades get a plain
 * 401/429 and never become sessions), caps frame size, turns compression off, and serves the tunnel on its
 * alias path too.
 */
export class TunnelWsAdapter extends WsAdapter {
  private aliasInstalled = false;

  constructor(
    app: INestApplicationContext,
    private readonly admission: TunnelAdmission,
    private readonly maxPayload: number,
    /** True while the gateway drains: new tunnels are refused with 503. */
    private readonly refusing: () => boolean = () => false,
  ) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}): unknown {
    this.installPathAlias();
    return super.create(port, {
      ...options,
      maxPayload: this.maxPayload,
      // Deflate costs CPU and memory per socket for small JSON frames; off unless asked for.
      perMessageDeflate: false,
      verifyClient: (info: { req: IncomingMessage }, done: VerifyCallback) => {
        if (this.refusing()) {
          done(false, 503, SHUTTING_DOWN);
          return;
        }
        this.admission.admit(info.req).then(
          (verdict) => (verdict.ok ? done(true) : done(false, verdict.status, verdict.message)),
          () => done(false, 500, 'Internal error'),
        );
      },
    });
  }

  /**
   * Server errors are still logged; a tunnel socket's errors are peer protocol errors, which the
   * gateway logs once per connection and rate-limited (Nest's handler logged each with its stack).
   */
  override bindErrorHandler(server: WsServer): WsServer {
    server.on('error', (err: Error) => this.logger.error(err));
    // A socket error with no listener at all would be thrown; the gateway adds the one that logs.
    server.on('connection', (socket: { on(event: 'error', listener: () => void): unknown }) => socket.on('error', () => undefined));
    return server;
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
