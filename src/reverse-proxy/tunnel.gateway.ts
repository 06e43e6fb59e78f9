import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { TUNNEL_PATH } from '../protocol/envelopes.js';
import { WriteCoalescer } from '../protocol/write-coalescer.js';
import { SessionRegistry } from './session-registry.js';
import { TunnelConnectionGuard } from './tunnel-connection.guard.js';
import { TunnelProtocolService } from './tunnel-protocol.service.js';
import { TunnelSession, type TunnelSocket } from './tunnel-session.js';

interface Liveness {
  session: TunnelSession;
  lastSeen: number;
}

/**
 * The tunnel endpoint's WebSocket lifecycle: one session per authenticated connection, frames to
 * the protocol service, and one timer that pings every tunnel and drops the silent ones.
 */
@WebSocketGateway({ path: TUNNEL_PATH })
export class TunnelGateway implements OnGatewayConnection<WebSocket>, OnGatewayInit, OnModuleDestroy {
  private readonly logger = new Logger('TunnelGateway');
  private readonly sockets = new Map<WebSocket, Liveness>();
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly guard: TunnelConnectionGuard,
    private readonly protocol: TunnelProtocolService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(): void {
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.config.tunnel.pingIntervalMs);
    this.livenessTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.livenessTimer);
    for (const { session } of this.sockets.values()) session.close('gateway shutting down', 1001);
  }

  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    const principal = this.guard.principalOf(req);
    if (!principal) {
      // Only reachable if the upgrade bypassed the adapter's verifyClient.
      socket.close(1008, 'Authentication required');
      return;
    }
    // ws writes to the upgraded connection, which is the upgrade request's socket.
    const writes = new WriteCoalescer(req.socket);
    const frames: TunnelSocket = {
      send: (data) => {
        writes.hold();
        socket.send(data);
      },
      close: (code, reason) => socket.close(code, reason),
    };
    const session = new TunnelSession(randomBytes(16).toString('hex'), principal.user, frames, {
      maxPending: this.config.tunnel.maxPendingPerSession,
    });
    const liveness: Liveness = { session, lastSeen: Date.now() };
    this.sockets.set(socket, liveness);
    this.registry.add(session);
    this.logger.log({ msg: 'Tunnel connected', sessionId: session.id, user: session.owner });

    socket.on('message', (data: RawData) => {
      liveness.lastSeen = Date.now();
      const text = typeof data === 'string' ? data : data.toString();
      session.recordInbound(Buffer.isBuffer(data) ? data.length : Buffer.byteLength(text));
      this.protocol.handleFrame(session, text);
    });
    socket.on('pong', () => {
      liveness.lastSeen = Date.now();
    });
    socket.on('close', (code: number) => {
      this.sockets.delete(socket);
      session.close(code === 1009 ? 'frame too large' : 'disconnected');
      this.logger.log({ msg: 'Tunnel disconnected', sessionId: session.id, code });
    });
    socket.on('error', (err: Error) => {
      this.logger.warn({ msg: 'Tunnel socket error', sessionId: session.id, error: err.message });
    });
  }

  private checkLiveness(): void {
    const deadline = Date.now() - this.config.tunnel.idleTimeoutMs;
    for (const [socket, { session, lastSeen }] of this.sockets) {
      if (lastSeen < deadline) {
        this.logger.warn({ msg: 'Tunnel idle, dropping it', sessionId: session.id });
        socket.terminate();
        continue;
      }
      socket.ping();
    }
  }
}
