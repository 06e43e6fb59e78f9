import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { AccessAudit } from '../../auth/access-audit.js';
import { AccessRules } from '../../auth/access-rules.js';
import { randomBytes } from 'node:crypto';
import { AuthError, AuthMessage } from '../../auth/auth-error.js';
import { AuthService } from '../../auth/auth.service.js';
import type { Principal } from '../../auth/principal.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import { PACKAGE_INFO } from '../../config/package-info.js';
import {
  parseTunnelFrame,
  SERVER_INFO_LIMITS,
  TOKEN_EXPIRED_REASON,
  TUNNEL_PATH,
  TunnelCloseCode,
  type GatewayToTunnelFrame,
  type RegisteredServer,
} from '../../protocol/envelopes.js';
import { sharesWithNobody, type ShareRules } from '../../protocol/share.js';
import { FRAME_ENVELOPE_DEPTH, parseJsonWithin } from '../../protocol/json-limits.js';
import { isObject, JsonRpcErrorCode, jsonRpcError } from '../../protocol/json-rpc.js';
import { SessionRegistry } from './session-registry.js';
import { TunnelSession, type TunnelSocket } from './tunnel-session.js';
import type { TunnelConnection } from './tunnel-connection.js';
import { LogBudget, PEER_LOG_LINES_PER_SECOND } from './log-budget.js';
import { ResumeTokens } from './resume-tokens.js';
import { TokenExpiry } from './token-expiry.js';
import type { RegisterFeatures } from './tunnel-session.js';

/** Received frames after which the gateway acknowledges at once rather than after ACK_DELAY_MS. */
const ACK_EVERY = 64;

const GATEWAY_CLIENT_INFO = { name: PACKAGE_INFO.name, version: PACKAGE_INFO.version };

/**
 * Speaks the tunnel wire protocol for one session: parses frames, answers control frames and
 * hands JSON-RPC payloads to the session. Peers only ever get short, fixed error texts.
 */
@Injectable()
export class TunnelProtocolService implements OnModuleInit {
  private readonly logger = new Logger('TunnelProtocol');
  private readonly reportedErrorLog = new LogBudget(PEER_LOG_LINES_PER_SECOND);

  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: ResumeTokens<TunnelSession>,
    // A default for the unit tests that build the service by hand; Nest always injects the app's.
    private readonly metrics: GatewayMetrics = new GatewayMetrics(),
    private readonly audit: AccessAudit = new AccessAudit(),
    // Verifies a token_refresh the way the upgrade was verified; absent in unit tests that build the service by hand (refreshes refused).
    @Optional() private readonly auth?: AuthService,
  ) {}

  onModuleInit(): void {
    // Cluster mode: connections carried here from other replicas (their resume named this one) are ours to speak to.
    this.registry.serveCarriedTunnelsWith(this);
    // The tunnel gauges (by state, calls in flight, SSE followers) are read from this process's sessions at each scrape.
    this.metrics.watchTunnels(() => this.registry.local());
  }

  /** A new session for a connection of `owner` writing to `socket`, with the configured limits; the caller adds it to the registry. */
  openSession(owner: string | null, socket: TunnelSocket): TunnelSession {
    const { maxPendingPerSession: maxPending, maxBufferedBytes, stuckTimeoutMs } = this.config.tunnel;
    const limits = { maxPending, backlog: { maxBufferedBytes, stuckTimeoutMs }, meter: this.metrics };
    return new TunnelSession(randomBytes(16).toString('hex'), owner, socket, limits);
  }

  /** Handles one text frame from the tunnel, arriving on `connection`. */
  handleFrame(connection: TunnelConnection, text: string): void {
    const session = connection.session;
    const json = parseJsonWithin(text, this.config.limits.maxJsonDepth + FRAME_ENVELOPE_DEPTH);
    if (!json.ok) {
      if (json.reason === 'too-deep') {
        this.refuseTooDeep(session, json.shallowOnly);
        return;
      }
      this.reply(session, { type: 'error', message: 'Invalid JSON format' });
      return;
    }
    const parsed = parseTunnelFrame(json.value);
    if (!parsed.ok) {
      this.reply(session, { type: 'error', message: parsed.error });
      return;
    }
    const frame = parsed.value;
    switch (frame.type) {
      case 'register':
        if (frame.resume) {
          this.resume(connection, frame.resume.token, frame.resume.lastReceived, text);
          return;
        }
        this.register(connection, frame.server, frame.resumable === true, frame.share, {
          tokenRefresh: frame.tokenRefresh,
          forwardIdentity: frame.forwardIdentity,
        }).catch((err: unknown) => {
          this.logger.error({ msg: 'Registration failed', sessionId: session.id, error: String(err) });
        });
        return;
      case 'ack':
        session.acknowledge(frame.ack);
        return;
      case 'token_refresh':
        this.refreshToken(session, frame.token).catch((err: unknown) => {
          this.logger.error({ msg: 'Token refresh failed', sessionId: session.id, error: String(err) });
        });
        return;
      case 'unregister':
        this.logger.log({ msg: 'Tunnel unregistered', sessionId: session.id, name: session.name });
        session.close('unregistered');
        return;
      case 'heartbeat':
        this.heartbeat(session);
        return;
      case 'error': {
        // A tunnel may send error frames as fast as it likes: the log gets a bounded share of them.
        const ticket = this.reportedErrorLog.take();
        if (!ticket.allowed) return;
        this.logger.warn({
          msg: 'Tunnel reported an error',
          sessionId: session.id,
          message: frame.message.slice(0, 200),
          ...(ticket.suppressed > 0 ? { suppressed: ticket.suppressed } : {}),
        });
        return;
      }
      default: {
        const arrival = session.arrive(frame.seq, frame.ack);
        if (arrival === 'duplicate') return;
        if (arrival === 'gap') {
          // Frames were lost on the way: the client resumes on a new connection and sends them again.
          this.logger.warn({ msg: 'Tunnel frame out of sequence, dropping the connection', sessionId: session.id });
          connection.drop();
          return;
        }
        const result = session.receive(frame.payload);
        if (result === 'invalid') {
          this.reply(session, { type: 'error', message: `"${frame.type}" payload is not a JSON-RPC message` });
        }
        // 'unmatched': an answer nobody waits for (timed out, or a client's own handshake); dropped.
      }
    }
  }

  /**
   * A frame nested past MAX_JSON_DEPTH: the tunnel hears of it, and when it answers a call in
   * flight that call fails now instead of timing out. Only the frame's top fields are read.
   */
  private refuseTooDeep(session: TunnelSession, frame: unknown): void {
    const limit = this.config.limits.maxJsonDepth;
    this.reply(session, { type: 'error', message: `Frame nests deeper than ${limit} levels` });
    if (!isObject(frame) || frame.type !== 'response' || !isObject(frame.payload)) return;
    const id = frame.payload.id;
    if (typeof id !== 'string' || !session.inFlightCall(id)) return;
    session.receive(jsonRpcError(id, JsonRpcErrorCode.InternalError, `The server's answer nests deeper than ${limit} levels`));
  }

  private heartbeat(session: TunnelSession): void {
    const now = Date.now();
    if (!session.shouldReplyToHeartbeat(now)) return;
    this.reply(session, { type: 'heartbeat', sessionId: session.id, timestamp: new Date(now).toISOString() });
  }

  /**
   * register -> register_ack, then register_complete once the server is usable. A server that
   * did not send its capabilities gets the MCP handshake from the gateway, through the tunnel.
   */
  private async register(
    connection: TunnelConnection,
    server: RegisteredServer,
    resumable: boolean,
    share?: ShareRules,
    features: RegisterFeatures = {},
  ): Promise<void> {
    const session = connection.session;
    if (session.state !== 'connected') {
      this.reply(session, { type: 'error', message: 'Already registered on this connection' });
      return;
    }
    const limit = this.config.tunnel.maxSessionsPerUser;
    if (this.registry.countByOwner(session.owner) > limit) {
      // Admitted past the limit as a possible resume (TunnelAdmission): a new session would overshoot it.
      // 1013 (try again later), no register_ack: the client retries, as after a 429 on the upgrade.
      this.metrics.tunnelRegistered('refused');
      session.close(`Too many sessions for this user (limit ${limit})`, 1013);
      return;
    }
    const name = server.name ?? `tunnel-${session.id.slice(0, 8)}`;
    const claim = await this.registry.claimName(session, name);
    if (!session.isOpen) return;
    if (!claim.ok) {
      this.metrics.tunnelRegistered('refused');
      this.reply(session, { type: 'register_ack', sessionId: session.id, status: 'error', message: claim.message });
      // 1013 (try again later): the refusal passes; 1008: the name is someone else's.
      session.close(claim.retry ? 'cluster store unavailable' : 'name in use', claim.retry ? 1013 : 1008);
      return;
    }
    claim.replaced?.close('replaced', TunnelCloseCode.Replaced);
    session.register({ ...server, name }, features);
    // A warning due before the client said it can refresh went nowhere: schedule it again from now.
    if (session.refreshesToken) session.tokenExpiry?.watch(session.tokenExpiry.expiresAt);
    // A session opened without auth is open to everyone already: it has no rules to set.
    if (share && !sharesWithNobody(share) && session.owner !== null) {
      session.share(AccessRules.from(share));
      this.audit.rulesChanged(session.owner, { session: session.id, server: name }, share, 'register');
    }
    this.metrics.tunnelRegistered('registered');
    const resume = this.config.tunnel.resumeGraceMs > 0 && resumable ? this.offerResume(session) : {};
    this.reply(session, { type: 'register_ack', sessionId: session.id, status: 'success', ...resume, ...this.mcpUrlOf(connection, name) });
    this.logger.log({ msg: 'Tunnel registered', sessionId: session.id, name, user: session.owner });

    let completion: { status: 'success' | 'error'; message?: string } = { status: 'success' };
    if (!server.capabilities) {
      completion = await this.handshake(session);
    }
    if (!session.isOpen) return;
    // A server whose handshake failed stays `registered`: reachable for raw calls, not announced as ready.
    if (completion.status === 'success') session.markReady();
    this.reply(session, { type: 'register_complete', sessionId: session.id, ...completion });
    this.registry.markRegistered(session);
  }

  /**
   * Follows the token `session`'s connection authenticated with (docs/protocol.md, "Token expiry"): a
   * client that announced token refresh is warned TUNNEL_TOKEN_WARN_MS (at most half the token's
   * remaining life) before its `exp`; at `exp` the tunnel is closed with 1008 "token expired" (an
   * older client only while TUNNEL_EXPIRY=close). Tokens without `exp` are not followed.
   */
  watchToken(session: TunnelSession, principal: Principal): void {
    const expiry = new TokenExpiry(
      { warn: (expiresAt) => this.warnExpiring(session, expiresAt), expire: () => this.expire(session) },
      { warnMs: this.config.tunnel.tokenWarnMs },
    );
    session.authenticated(principal, expiry);
  }

  private warnExpiring(session: TunnelSession, expiresAt: number): void {
    if (!session.refreshesToken) return;
    this.logger.log({
      msg: 'Tunnel token expiring, asked for a fresh one',
      sessionId: session.id,
      expiresAt: new Date(expiresAt).toISOString(),
    });
    this.reply(session, { type: 'token_expiring', expiresAt });
  }

  private expire(session: TunnelSession): void {
    if (!session.isOpen) return;
    if (!session.refreshesToken && this.config.tunnel.expiry === 'ignore') {
      this.logger.log({ msg: 'Tunnel token expired, kept open (TUNNEL_EXPIRY=ignore)', sessionId: session.id, user: session.owner });
      return;
    }
    this.logger.log({ msg: 'Tunnel token expired, closing it', sessionId: session.id, name: session.name, user: session.owner });
    // Callers in flight fail with "The tunnel closed (token expired)"; a suspended session ends too.
    session.close(TOKEN_EXPIRED_REASON, 1008);
  }

  /**
   * `token_refresh`: the fresh token is verified like the upgrade's (AuthService, TokenVerifier) and
   * must name the tunnel's owner; then the tunnel's identity and expiry follow it. A refused token
   * leaves both as they were (the tunnel still closes at the old `exp`). One at a time, at most one a second.
   */
  private async refreshToken(session: TunnelSession, token: string): Promise<void> {
    const expiry = session.tokenExpiry;
    const refuse = (reason: string): void => this.reply(session, { type: 'error', message: `Token refresh refused: ${reason}` });
    if (session.state === 'connected' || !session.refreshesToken || !expiry || !this.auth) {
      refuse('send it on a registered tunnel that announced register.tokenRefresh');
      return;
    }
    if (!expiry.beginRefresh()) {
      refuse('too many refreshes; at most one a second');
      return;
    }
    let principal: Principal;
    try {
      principal = await this.auth.authenticate({ headers: { authorization: `Bearer ${token}` }, url: TUNNEL_PATH });
    } catch (err) {
      refuse(err instanceof AuthError ? err.message : AuthMessage.Failed);
      return;
    } finally {
      expiry.refreshDone();
    }
    if (!session.isOpen) return;
    if (principal.via !== 'jwt') {
      refuse('Invalid token');
      return;
    }
    if (principal.user !== session.owner) {
      this.logger.warn({ msg: 'Tunnel token refresh for another user refused', sessionId: session.id, user: session.owner });
      refuse('the token is for another user');
      return;
    }
    session.authenticated(principal);
    const expiresAt = principal.expiresAt;
    this.logger.log({
      msg: 'Tunnel token refreshed',
      sessionId: session.id,
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    });
    this.reply(session, { type: 'token_refreshed', ...(expiresAt !== undefined ? { expiresAt } : {}) });
  }

  /** Initializes the local server on the tunnel client's behalf and caches what it reports. */
  private async handshake(session: TunnelSession): Promise<{ status: 'success' | 'error'; message?: string }> {
    try {
      const answer = await session.call(
        {
          jsonrpc: '2.0',
          id: 'gateway-initialize',
          method: 'initialize',
          params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: GATEWAY_CLIENT_INFO },
        },
        this.config.tunnel.handshakeTimeoutMs,
      );
      if (!('result' in answer) || typeof answer.result !== 'object' || answer.result === null) {
        return { status: 'error', message: 'The local server refused initialize' };
      }
      const result = answer.result as Record<string, unknown>;
      // The same cap as on register.server, so every session holds a bounded server description.
      const tooLarge = (['capabilities', 'serverInfo'] as const).find(
        (key) => isObject(result[key]) && Buffer.byteLength(JSON.stringify(result[key])) > SERVER_INFO_LIMITS.objectBytes,
      );
      if (tooLarge) {
        return { status: 'error', message: `The local server's ${tooLarge} is larger than ${SERVER_INFO_LIMITS.objectBytes} bytes` };
      }
      session.updateServer(result);
      session.forward({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return { status: 'success' };
    } catch {
      return { status: 'error', message: 'The local server did not complete the MCP handshake' };
    }
  }

  /** Makes `session` resumable: its frames are numbered from here on; returns what `register_ack` tells the client. */
  private offerResume(session: TunnelSession): { resumeToken: string; resumeGraceMs: number } {
    const { resumeGraceMs: graceMs, resumeBufferBytes: maxRetainedBytes } = this.config.tunnel;
    session.enableResume({ graceMs, maxRetainedBytes, ackEvery: ACK_EVERY });
    // The token goes when the session does.
    session.events$.subscribe({ complete: () => this.tokens.revoke(session.id) });
    return { resumeToken: this.tokens.issue(session), resumeGraceMs: graceMs };
  }

  /**
   * `register {resume}`: the connection carries on a suspended (or half-open) session of the same
   * owner, which sends again what the client missed. Refused (the connection stays open for a fresh
   * `register`) for an unknown, used or someone else's token, or frames no longer kept.
   */
  private resume(connection: TunnelConnection, token: string, peerReceived: number, text: string): void {
    const opened = connection.session;
    if (opened.state !== 'connected') {
      this.reply(opened, { type: 'error', message: 'Already registered on this connection' });
      return;
    }
    // Cluster mode: the session lives on the replica that issued the token; the connection is carried there.
    const home = ResumeTokens.homeOf(token);
    if (home !== undefined && home !== this.config.cluster?.replicaId && this.registry.resumeElsewhere(connection, home, text)) return;
    const session = this.tokens.redeem(token, opened.owner);
    const missed = session?.isOpen ? session.resumeOn(connection.socket, peerReceived) : undefined;
    if (!session || !missed) {
      this.logger.log({ msg: 'Tunnel resume refused', sessionId: opened.id, user: opened.owner });
      this.metrics.tunnelRegistered('resume_refused');
      this.reply(opened, {
        type: 'register_ack',
        sessionId: opened.id,
        status: 'error',
        resumeRefused: true,
        message: 'Resume refused: unknown, used or expired token; register afresh',
      });
      return;
    }
    connection.adopt(session);
    // The resume's upgrade authenticated the owner afresh: the session follows that token from now on (a carried connection has none here).
    if (opened.principal) session.authenticated(opened.principal, session.tokenExpiry);
    this.metrics.tunnelRegistered('resumed');
    const { resumeGraceMs } = this.config.tunnel;
    const resumeToken = this.tokens.issue(session);
    this.reply(session, {
      type: 'register_ack',
      sessionId: session.id,
      status: 'success',
      resumed: true,
      resumeToken,
      lastReceived: session.lastReceived,
      resumeGraceMs,
      ...this.mcpUrlOf(connection, session.name),
    });
    session.resend(missed);
    this.reply(session, { type: 'register_complete', sessionId: session.id, status: session.isReady() ? 'success' : 'error' });
    this.logger.log({ msg: 'Tunnel resumed', sessionId: session.id, name: session.name, resent: missed.length });
  }

  /**
   * `register_ack.mcpUrl`: the tunnel's MCP endpoint, when the gateway knows where clients reach it
   * (a connection carried from another replica has no upgrade request here: PUBLIC_URL or nothing); never a guess.
   */
  private mcpUrlOf(connection: TunnelConnection, name: string | undefined): { mcpUrl?: string } {
    const base = connection.publicBaseUrl ?? this.config.publicUrl;
    return base && name ? { mcpUrl: `${base}/servers/${encodeURIComponent(name)}/mcp` } : {};
  }

  private reply(session: TunnelSession, frame: GatewayToTunnelFrame): void {
    if (session.isOpen) session.send(frame);
  }
}
