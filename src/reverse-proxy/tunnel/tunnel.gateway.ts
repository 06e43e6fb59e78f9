import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { AuthMessage } from '../../auth/auth-error.js';
import type { RawData, WebSocket } from 'ws';
import { HostAllowList } from '../../config/allowed-hosts.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { TUNNEL_PATH, TunnelCloseCode } from '../../protocol/envelopes.js';
import { frameText } from '../../protocol/frame-text.js';
import { WriteCoalescer } from '../../protocol/write-coalescer.js';
import { LogBudget, PEER_LOG_LINES_PER_SECOND } from './log-budget.js';
import { SessionRegistry } from './session-registry.js';
import { TunnelAdmission } from './tunnel-admission.js';
import { TunnelProtocolService } from './tunnel-protocol.service.js';
import type { DivertedRoute, TunnelConnection } from './tunnel-connection.js';
import { TunnelSession, type TunnelSocket } from './tunnel-session.js';

/** ws error codes for a frame longer than maxPayload (or than any length it can hold). */
const FRAME_TOO_LARGE_CODES = new Set(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH']);
const isFrameTooLarge = (code: string | undefined): boolean => code !== undefined && FRAME_TOO_LARGE_CODES.has(code);

interface Liveness {
  session: TunnelSession;
  lastSeen: number;
  /** Cluster mode: the connection carries a session of another replica; its frames go there. */
  diverted?: DivertedRoute;
}

/**
 * The tunnel endpoint's WebSocket lifecycle: one session per authenticated connection, frames to
 * the protocol service, and one timer that pings every tunnel and drops the silent ones.
 */
@WebSocketGateway({ path: TUNNEL_PATH })
export class TunnelGateway implements OnGatewayConnection<WebSocket>, OnGatewayInit, OnModuleDestroy {
  private readonly logger = new Logger('TunnelGateway');
  private readonly sockets = new Map<WebSocket, Liveness>();
  private readonly peerErrorLog = new LogBudget(PEER_LOG_LINES_PER_SECOND);
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly admission: TunnelAdmission,
    private readonly protocol: TunnelProtocolService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly hosts: HostAllowList,
  ) {}

  afterInit(): void {
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.config.tunnel.pingIntervalMs);
    this.livenessTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.livenessTimer);
    // Suspended sessions too: nobody can resume them on a gateway that is going away.
    for (const session of this.registry.local()) session.close('gateway shutting down', TunnelCloseCode.Restarting);
  }

  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    const principal = this.admission.claim(req);
    if (!principal) {
      // Only reachable if the upgrade bypassed the adapter's verifyClient.
      socket.close(1008, AuthMessage.Required);
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
      terminate: () => socket.terminate(),
      // ws counts the socket's unsent bytes, so writes held by the coalescer's cork are included.
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    };
    const session = this.protocol.openSession(principal.user, frames);
    // At its token's exp the connection is warned, then closed (docs/protocol.md, "Token expiry").
    this.protocol.watchToken(session, principal);
    const liveness: Liveness = { session, lastSeen: Date.now() };
    this.sockets.set(socket, liveness);
    this.registry.add(session);
    this.logger.log({ msg: 'Tunnel connected', sessionId: session.id, user: session.owner });
    const connection: TunnelConnection = {
      get session() {
        return liveness.session;
      },
      socket: frames,
      publicBaseUrl: this.hosts.publicBaseUrl(req.headers.host, (req.socket as Partial<TLSSocket>).encrypted === true),
      adopt: (resumed) => {
        const opened = liveness.session;
        liveness.session = resumed;
        opened.handOver();
      },
      drop: () => socket.terminate(),
      divert: (route) => {
        liveness.diverted = route;
        // Carried to the session's replica, which follows (and refreshes) the session's token; taken back, the upgrade's token applies again.
        if (route) liveness.session.tokenExpiry?.stop();
        else liveness.session.tokenExpiry?.watch(principal.expiresAt);
      },
    };

    let handlerFailed = false;
    socket.on('message', (data: RawData) => {
      liveness.lastSeen = Date.now();
      const text = typeof data === 'string' ? data : frameText(data);
      if (liveness.diverted) return liveness.diverted.frame(text);
      const current = liveness.session;
      current.recordInbound(Buffer.isBuffer(data) ? data.length : Buffer.byteLength(text));
      try {
        this.protocol.handleFrame(connection, text);
      } catch (err) {
        // A bug reached by one tunnel's frame costs that frame, never the process.
        if (!handlerFailed) this.logger.error({ msg: 'Tunnel frame handler failed', sessionId: current.id, error: String(err) });
        handlerFailed = true;
        if (current.isOpen) current.send({ type: 'error', message: 'Internal error' });
      }
    });
    socket.on('pong', () => {
      liveness.lastSeen = Date.now();
    });
    let protocolError: string | undefined;
    socket.on('close', (code: number) => {
      this.sockets.delete(socket);
      if (liveness.diverted) {
        // Carried to another replica: the session there hears of it; the one this connection opened with ends here.
        liveness.diverted.closed();
        liveness.session.close('carried connection ended');
        return;
      }
      const current = liveness.session;
      // ws reports a peer's protocol error on 'error', then closes with 1006 (it stops reading, so no close frame comes back).
      const reason =
        code === 1009 || isFrameTooLarge(protocolError) ? 'frame too large' : protocolError ? 'protocol error' : 'disconnected';
      // The gateway's own closes (shutdown, DELETE...) closed the session already; a resume may have moved it elsewhere.
      const outcome = current.connectionEnded(frames, reason);
      if (outcome === 'suspended') {
        this.registry.markSuspended(current);
        this.logger.log({ msg: 'Tunnel connection lost, session suspended', sessionId: current.id, code });
      }
      if (outcome === 'closed') this.logger.log({ msg: 'Tunnel disconnected', sessionId: current.id, code });
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (protocolError !== undefined) return;
      protocolError = err.code ?? 'socket error';
      const ticket = this.peerErrorLog.take();
      if (!ticket.allowed) return;
      this.logger.warn({
        msg: 'Tunnel protocol error',
        sessionId: liveness.session.id,
        code: protocolError,
        error: err.message.slice(0, 120),
        ...(ticket.suppressed > 0 ? { suppressed: ticket.suppressed } : {}),
      });
    });
  }

  private checkLiveness(): void {
    const deadline = Date.now() - this.config.tunnel.idleTimeoutMs;
    for (const [socket, { session, lastSeen }] of this.sockets) {
      if (session.closeIfStuck()) {
        this.logger.warn({ msg: 'Tunnel not reading, dropped it', sessionId: session.id });
        continue;
      }
      if (lastSeen < deadline) {
        this.logger.warn({ msg: 'Tunnel idle, dropping it', sessionId: session.id });
        socket.terminate();
        continue;
      }
      socket.ping();
    }
  }
}
