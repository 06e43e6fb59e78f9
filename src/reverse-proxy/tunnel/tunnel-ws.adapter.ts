import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TUNNEL_PATH, TUNNEL_PATH_ALIAS } from '../../protocol/envelopes.js';
import type { TunnelAdmission } from './tunnel-admission.js';
import { SHUTTING_DOWN } from './call-error.js';

type WsServer = { on(event: string, listener: (arg: never) => void): unknown };
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What an upgrade to any other path gets: a plain 404 a client can act on ("wrong URL"), not a reset. */
const NOT_A_TUNNEL_PATH = `Not Found: the tunnel endpoint is ${TUNNEL_PATH}`;
type VerifyCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;

/**
 * WsAdapter that admits the HTTP upgrade itself (TunnelAdmission: refused upgrades get a plain
 * 401/429 and never become sessions), caps frame size, turns compression off, serves the tunnel on its
 * alias path too, and answers upgrades to any other path with 404 (Nest's listener resets them).
 */
export class TunnelWsAdapter extends WsAdapter {
  /** Our upgrade routers, in place of Nest's listeners, to take off in dispose(). */
  private readonly routers: { server: Server; router: UpgradeListener }[] = [];

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
    return super.create(port, {
      ...options,
      maxPayload: this.maxPayload,
      // Deflate costs CPU and memory per socket for small JSON frames; off unless asked for.
      perMessageDeflate: false,
      verifyClient: (info: { req: IncomingMessage }, done: VerifyCallback) => {
        if (this.refusing()) {
          this.admission.refusedBefore('draining');
          done(false, 503, SHUTTING_DOWN);
          return;
        }
        this.admission.admit(info.req).then(
          (verdict) => (verdict.ok ? done(true) : done(false, verdict.status, verdict.message, verdict.headers)),
          () => {
            this.admission.refusedBefore('error');
            done(false, 500, 'Internal error');
          },
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

  /**
   * Nest adds one `upgrade` listener per HTTP server, which destroys the socket of an upgrade to a
   * path it does not serve: a client then sees a reset and cannot tell a wrong URL from a dead
   * gateway. That listener is put behind a router: the tunnel path (and `/reverse-proxy`, the
   * reference gateway's other tunnel URL, rewritten before the match) goes on to it, anything else
   * is answered 404.
   */
  protected override ensureHttpServerExists(port: number, httpServer?: Server): Server | undefined {
    const before = httpServer ? new Set(httpServer.listeners('upgrade')) : new Set<unknown>();
    const server = super.ensureHttpServerExists(port, httpServer);
    if (!server) return server;
    const added = server.listeners('upgrade').filter((listener) => !before.has(listener));
    if (added.length !== 1) return server;
    const nest = added[0] as UpgradeListener;
    const router: UpgradeListener = (req, socket, head) => {
      const path = tunnelPathOf(req);
      if (path === undefined) {
        this.admission.refusedBefore('not_found');
        refuseUpgrade(socket, 404, 'Not Found', NOT_A_TUNNEL_PATH);
        return;
      }
      req.url = path;
      nest(req, socket, head);
    };
    server.off('upgrade', nest);
    server.on('upgrade', router);
    this.routers.push({ server, router });
    return server;
  }

  override async dispose(): Promise<void> {
    for (const { server, router } of this.routers.splice(0)) server.off('upgrade', router);
    await super.dispose();
  }
}

/** The request's URL with the alias rewritten to the tunnel path, or undefined when it names another path. */
function tunnelPathOf(req: IncomingMessage): string | undefined {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  let path: string;
  try {
    // Nest matches the parsed pathname (a fixed base: the Host header plays no part in the path).
    path = new URL(url, 'http://gateway.invalid').pathname;
  } catch {
    return undefined;
  }
  if (path === TUNNEL_PATH) return url;
  if (path === TUNNEL_PATH_ALIAS || path === `${TUNNEL_PATH_ALIAS}/`) return TUNNEL_PATH + query;
  return undefined;
}

/** Answers an upgrade with a plain HTTP status and closes the connection once it is written (as `ws` does). */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
