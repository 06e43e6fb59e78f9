/**
 * The tunnel's WebSocket to the gateway: connect with the token, register, keep the connection
 * alive (heartbeat frames and ws pings; two silent intervals mean it is dead), and reconnect with
 * backoff. Losing a link that had stayed up, or a gateway closing with 1012 (restarting), is no
 * sign against the gateway: the first reconnect goes at once, and only failures after it wait.
 * Refusals that will not heal by retrying (bad token, a name taken by someone else) end the link
 * instead of hammering the gateway. So does a first connection that fails (a wrong URL, scheme or
 * port, a gateway that is not running): the user hears the likely mistake (connect-hints.ts) at
 * once, unless asked to retry forever. Once a connection has been accepted, drops are retried.
 *
 * The link may be opened before there is a server to register (open()): the gateway is checked
 * before the local server starts (which may be a long `npx` download), and the registration
 * goes on the same connection once up() brings the server.
 *
 * Resumption (docs/protocol.md): unless turned off, the link asks for a resumable session; when the
 * gateway grants one, data frames are numbered both ways (ResumableSession), frames sent while
 * disconnected are kept, and the next connection resumes the session instead of registering a new
 * one. A refused resume registers afresh on the same connection.
 */
import WebSocket, { type RawData } from 'ws';
import {
  GATEWAY_FRAME_TYPES,
  parseGatewayFrame,
  TOKEN_EXPIRED_REASON,
  TunnelCloseCode,
  type DataFrame,
  type RegisterAckFrame,
  type RegisteredServer,
  type RequestFrame,
  type ResponseFrame,
  type TunnelToGatewayFrame,
} from '../protocol/envelopes.js';
import { frameText } from '../protocol/frame-text.js';
import { DEFAULT_MAX_JSON_DEPTH, FRAME_ENVELOPE_DEPTH, parseJsonWithin } from '../protocol/json-limits.js';
import { isObject } from '../protocol/json-rpc.js';
import { formatShare, type ShareRules } from '../protocol/share.js';
import { WriteCoalescer } from '../protocol/write-coalescer.js';
import { Backoff, formatDelay } from './backoff.js';
import { firstConnectionHint, TLS_TRUST_ERRORS } from './connect-hints.js';
import { displayUrl } from './gateway-url.js';
import type { Logger } from './logger.js';
import { RESUME_DEFAULTS, ResumableSession, type Schedule } from './resumable-session.js';
import { decideRefresh } from './token-refresh.js';

export interface LinkHandlers {
  /** The first connection was accepted: the gateway is there and takes the token (once per link). */
  reachable?(): void;
  /**
   * register_ack with status success: the tunnel may send. `resumed`: the previous session carries
   * on (its calls in flight are still awaited); otherwise this is a new session. `mcpUrl`: where MCP
   * clients reach the tunnel, when the gateway said so (register_ack.mcpUrl).
   */
  registered(sessionId: string, resumed: boolean, mcpUrl?: string): void;
  /** A JSON-RPC payload from the gateway (`request` or `response` envelope), once, in order. */
  payload(message: unknown): void;
  /**
   * The registered connection is gone (a reconnect may follow). `kept`: the session waits for a
   * resume, so its calls in flight may still be answered; otherwise the gateway has failed them.
   */
  disconnected(kept: boolean): void;
  /** The link gave up; the message says why, for the user. */
  fatal(message: string): void;
}

export interface LinkOptions {
  url: URL;
  token?: string;
  /** The token file (--token-file): read again before each connection and on `token_expiring`, so a rotated token is used. */
  tokenFile?: string;
  /** Reads `tokenFile` (config-file.ts readTokenFile); throws with a message for the user when it cannot. */
  readToken?: (path: string) => string;
  /** --forward-identity: the local server gets the verified caller in each request's `_meta`. */
  forwardIdentity?: boolean;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string[];
  insecure: boolean;
  keepaliveMs: number;
  reconnectDelayMs: number;
  /** 0 = retry forever. */
  maxRetries: number;
  /** Retry even before any connection was accepted; otherwise the first failure is fatal, with a hint. */
  retryForever?: boolean;
  registerTimeoutMs: number;
  userAgent: string;
  logger: Logger;
  /** Injected for tests; defaults to Math.random (the backoff's jitter). */
  random?: () => number;
  /** Injected for tests; defaults to Date.now (how long a registered connection stayed up). */
  now?: () => number;
  /** Ask for resumable sessions; undefined speaks the base protocol only (--no-resume). */
  resume?: LinkResumeOptions;
  /** --share: sent with every new register (a resume keeps the session's rules); undefined: only the owner. */
  share?: ShareRules;
}

export interface LinkResumeOptions {
  /** --resume-buffer: bytes of sent frames kept until the gateway acknowledges them. */
  maxRetainedBytes: number;
  /** Defaults: the contract's (64 frames, 100 ms). */
  ackEvery?: number;
  ackDelayMs?: number;
  /** Injected for tests: the timer of owed acknowledgements. */
  schedule?: Schedule;
}

/**
 * A registered connection that stays up this long counts as established: when it drops, the
 * backoff starts over and the first reconnect is immediate. Short, so that back-to-back gateway
 * restarts do not add up; not zero, so that a gateway that accepts and drops at once meets a
 * growing delay.
 */
export const LINK_STABLE_AFTER_MS = 5_000;
/** While a session can be resumed, reconnect attempts come at least this often per grace period. */
export const RESUME_ATTEMPTS_PER_GRACE = 8;

/** One connection attempt and what was learned about it. */
interface Connection {
  ws: WebSocket;
  /** Set once the upgrade succeeded: frames of one event-loop turn leave in one write. */
  writes?: WriteCoalescer;
  /** HTTP status of a refused upgrade. */
  status?: number;
  statusText?: string;
  error?: string;
  /** Set when the gateway said something that rules out retrying. */
  fatal?: string;
  sessionId?: string;
  registered: boolean;
  /** A `register` with `resume` waits for its answer. */
  resuming?: boolean;
  /** We dropped it to resume (or start over) on a new connection at once. */
  reconnectNow?: boolean;
  /** We are closing it (down/stop), so its close is not a drop to recover from. */
  closing?: boolean;
  /** Open, and waiting for up() to bring the server to register. */
  awaitingServer?: boolean;
  /** Any frame or pong since the last keepalive tick. */
  heard: boolean;
  silentTicks: number;
  keepalive?: NodeJS.Timeout;
  registerTimer?: NodeJS.Timeout;
}

/** Close codes by which a gateway says "do not come back with these credentials". */
const REFUSAL_CLOSE_CODES = new Set([1008, 4401, 4403]);

export class GatewayLink {
  private server: RegisteredServer | undefined;
  private conn: Connection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** open() or up() asked for a connection, and no down() since. */
  private wanted = false;
  /** A connection was accepted once: from then on, drops are retried. */
  private everConnected = false;
  private readonly backoff: Backoff;
  /** The resumable session, kept through dropped connections until it ends or cannot resume. */
  private session: ResumableSession | undefined;
  /** How long the gateway keeps `session` through a dropped connection, as its register_ack said. */
  private sessionGraceMs: number | undefined;
  /** The session's overflow of --resume-buffer was reported (once per session: a busy tunnel may overflow often). */
  private overflowReported = false;
  /** The token in use: given at start, or read from the token file since. */
  private token: string | undefined;
  /** The token the gateway knows for this tunnel: the connection's, or the last one sent in a token_refresh. */
  private presented: string | undefined;
  /** The expiry the user was last advised about (once per expiry, not once per warning). */
  private advisedFor: number | undefined;
  /** The last problem reading the token file that was reported (each problem once). */
  private tokenReadProblem: string | undefined;

  constructor(
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.backoff = new Backoff({
      baseMs: options.reconnectDelayMs,
      stableMs: LINK_STABLE_AFTER_MS,
      random: options.random,
      now: options.now,
    });
    this.token = options.token;
  }

  get isRegistered(): boolean {
    return this.conn?.registered === true && this.conn.ws.readyState === WebSocket.OPEN;
  }

  get sessionId(): string | undefined {
    return this.conn?.sessionId;
  }

  /** Connects without registering yet: the connection waits for up(). */
  open(): void {
    if (this.stopped) return;
    this.wanted = true;
    if (!this.conn && !this.retryTimer) this.connect();
  }

  /** Connects (if needed) and registers `server`; after a drop, reconnects on its own. */
  up(server: RegisteredServer): void {
    if (this.stopped) return;
    this.server = server;
    this.wanted = true;
    const conn = this.conn;
    if (conn?.awaitingServer && conn.ws.readyState === WebSocket.OPEN) {
      conn.awaitingServer = false;
      this.register(conn, server);
      return;
    }
    if (!conn && !this.retryTimer) this.connect();
  }

  /** Unregisters and closes without reconnecting, until the next up(). */
  down(reason: string): Promise<void> {
    this.server = undefined;
    this.wanted = false;
    // unregister ends the session at the gateway; while disconnected it simply expires there.
    this.endSession();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.close(reason);
  }

  stop(reason = 'client shutting down'): Promise<void> {
    this.stopped = true;
    return this.down(reason);
  }

  /**
   * Sends a data frame on the registered connection. In a resumable session it is numbered, and
   * while disconnected kept for the resume. False when it was neither sent nor kept (the caller buffers).
   */
  send(frame: DataFrame): boolean {
    const session = this.session;
    if (!session) {
      if (!this.isRegistered) return false;
      this.write(this.conn!, frame);
      return true;
    }
    const text = session.send(frame);
    if (!session.canResume && !this.overflowReported) {
      this.overflowReported = true;
      this.options.logger.warn(
        `more than ${this.options.resume?.maxRetainedBytes} bytes wait for the gateway's acknowledgement (--resume-buffer): until it catches up, this session cannot be resumed`,
      );
    }
    if (this.isRegistered) this.writeText(this.conn!, text, true);
    return true;
  }

  private write(conn: Connection, frame: TunnelToGatewayFrame): void {
    // Keepalive and acknowledgements are chatter, not traffic worth a debug line; a token is never logged.
    this.writeText(conn, JSON.stringify(frame), frame.type !== 'heartbeat' && frame.type !== 'ack' && frame.type !== 'token_refresh');
  }

  private writeText(conn: Connection, data: string, log: boolean): void {
    if (log) this.options.logger.debug(`-> gateway ${data}`);
    conn.writes?.hold();
    conn.ws.send(data);
  }

  private connect(): void {
    this.retryTimer = undefined;
    const { logger, url } = this.options;
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent };
    // A rotated token file is picked up by every new connection.
    const token = this.reloadToken().token;
    if (token) headers.Authorization = `Bearer ${token}`;
    this.presented = token;
    const attempt = this.backoff.attempt > 0 ? ` (attempt ${this.backoff.attempt})` : '';
    // Reconnects are announced by the line about the drop; this one is for the first time and the traffic log.
    if (this.everConnected) logger.debug(`connecting to ${displayUrl(url)}${attempt}`);
    else logger.info(`connecting to ${displayUrl(url)}${attempt}`);
    const ws = new WebSocket(url, {
      headers,
      ca: this.options.ca,
      rejectUnauthorized: !this.options.insecure,
      handshakeTimeout: Math.max(this.options.registerTimeoutMs, 1000),
      perMessageDeflate: false,
      followRedirects: false,
    });
    const conn: Connection = { ws, registered: false, heard: true, silentTicks: 0 };
    this.conn = conn;

    ws.on('unexpected-response', (_req, res) => {
      conn.status = res.statusCode;
      conn.statusText = res.statusMessage;
      // Keep a little of the body: gateways explain refusals there ("token expired").
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 500) body += chunk;
      });
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        if (body.trim()) conn.statusText = body.trim().slice(0, 300);
        ws.terminate();
      };
      res.once('end', finish);
      res.once('error', finish);
      setTimeout(finish, 1000).unref();
    });
    ws.on('upgrade', (res) => {
      conn.writes = new WriteCoalescer(res.socket);
    });
    ws.on('open', () => this.onOpen(conn));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('pong', () => {
      conn.heard = true;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      conn.error = err.code ?? err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(conn, code, reason.toString()));
  }

  private onOpen(conn: Connection): void {
    if (!this.wanted || conn !== this.conn) {
      conn.ws.close(1000);
      return;
    }
    conn.keepalive = setInterval(() => this.keepalive(conn), this.options.keepaliveMs);
    const first = !this.everConnected;
    this.everConnected = true;
    if (first) this.handlers.reachable?.();
    // reachable() may have stopped the link (a local server that cannot start).
    if (conn !== this.conn || conn.closing) return;
    const server = this.server;
    if (!server) {
      this.options.logger.debug('connected; waiting for the local server before registering');
      conn.awaitingServer = true;
      return;
    }
    this.register(conn, server);
  }

  /** Sends this connection's register: a resume of the session when there is one, else a new one. */
  private register(conn: Connection, server: RegisteredServer): void {
    if (this.session && !this.session.canResume) {
      this.options.logger.warn('the session cannot be resumed (frames past --resume-buffer were let go); registering afresh');
      this.endSession();
    }
    if (this.session) {
      this.options.logger.info(`connected; resuming session ${this.session.sessionId}`);
      conn.resuming = true;
      this.write(conn, { type: 'register', server, resume: this.session.resumeRequest() });
    } else {
      this.options.logger.info(`connected; registering "${server.name}"`);
      this.registerAfresh(conn, server);
    }
    this.startRegisterTimer(conn);
  }

  /** A register for a new session; resumable unless resumption is off, so older gateways see the base protocol. */
  private registerAfresh(conn: Connection, server: RegisteredServer): void {
    this.write(conn, {
      type: 'register',
      server,
      // This client answers token_expiring with a fresh token (docs/protocol.md, "Token expiry").
      tokenRefresh: true,
      ...(this.options.forwardIdentity ? { forwardIdentity: true } : {}),
      ...(this.options.resume ? { resumable: true } : {}),
      ...(this.options.share ? { share: this.options.share } : {}),
    });
  }

  private startRegisterTimer(conn: Connection): void {
    clearTimeout(conn.registerTimer);
    conn.registerTimer = setTimeout(() => {
      this.options.logger.warn(`no answer to register within ${formatDelay(this.options.registerTimeoutMs)}`);
      conn.error = 'register timed out';
      conn.ws.terminate();
    }, this.options.registerTimeoutMs);
  }

  /** Forgets the resumable session (it ended, or cannot resume): what it kept is dropped. */
  private endSession(): void {
    this.session?.suspend();
    this.session = undefined;
    this.overflowReported = false;
  }

  /** Every interval: give up on a gateway that said nothing for two, else send a heartbeat and a ping. */
  private keepalive(conn: Connection): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.silentTicks = conn.heard ? 0 : conn.silentTicks + 1;
    conn.heard = false;
    if (conn.silentTicks >= 2) {
      this.options.logger.warn(`no sign of life from the gateway for ${formatDelay(2 * this.options.keepaliveMs)}`);
      conn.error = 'gateway silent';
      conn.ws.terminate();
      return;
    }
    this.write(conn, { type: 'heartbeat' });
    conn.ws.ping();
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.heard = true;
    if (conn !== this.conn || conn.reconnectNow) return;
    const { logger } = this.options;
    const text = isBinary ? undefined : frameText(data);
    let raw: Record<string, unknown> | undefined;
    const parsed = text === undefined ? undefined : parseJsonWithin(text, DEFAULT_MAX_JSON_DEPTH + FRAME_ENVELOPE_DEPTH);
    if (parsed?.ok === false && parsed.reason === 'too-deep') {
      logger.warn(`ignoring a frame from the gateway that nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      return;
    }
    if (parsed?.ok && isObject(parsed.value)) raw = parsed.value;
    if (!raw || typeof raw.type !== 'string') {
      logger.warn(`ignoring a frame from the gateway that is not a JSON object with a type: ${(text ?? '<binary>').slice(0, 200)}`);
      return;
    }
    if (raw.type !== 'heartbeat' && raw.type !== 'ack') logger.debug(`<- gateway ${text}`);
    if (!GATEWAY_FRAME_TYPES.has(raw.type)) {
      // A newer gateway's frame: nothing this client has to act on.
      logger.debug(`ignoring a "${raw.type.slice(0, 64)}" frame from the gateway`);
      return;
    }
    const result = parseGatewayFrame(raw);
    if (!result.ok) {
      logger.warn(`ignoring a malformed frame from the gateway: ${result.error}`);
      return;
    }
    const frame = result.value;
    switch (frame.type) {
      case 'register_ack':
        this.onRegisterAck(conn, frame);
        return;
      case 'register_complete':
        if (frame.status !== 'success') {
          conn.fatal = `the gateway could not complete the registration of "${this.server?.name}": ${frame.message || 'no reason given'}`;
          conn.ws.close(1000);
          return;
        }
        // The rules asked for; a gateway older than sharing ignores them (its servers are only the owner's).
        logger.info(
          `registered as "${this.server?.name}"${this.options.share ? ` (share: ${formatShare(this.options.share) || 'only you'})` : ''}`,
        );
        return;
      case 'heartbeat':
        // A reply (or the gateway's own keepalive); answering it would start an echo loop.
        return;
      case 'ack':
        this.session?.acknowledge(frame.ack);
        return;
      case 'token_expiring':
        this.onTokenExpiring(conn, frame.expiresAt);
        return;
      case 'token_refreshed':
        this.advisedFor = undefined;
        logger.info(
          `the gateway took the fresh token${frame.expiresAt !== undefined ? `; the tunnel now lasts until ${new Date(frame.expiresAt).toISOString()}` : ''}`,
        );
        return;
      case 'request':
      case 'response':
        this.onData(conn, frame);
        return;
      case 'error':
        if (conn.resuming) {
          this.resumeFailed(conn, frame.message);
          return;
        }
        if (!conn.registered) {
          // The gateway rejected our register frame; sending it again would fail the same way.
          conn.fatal = `the gateway rejected the registration: ${frame.message}`;
          conn.ws.close(1000);
          return;
        }
        logger.warn(`the gateway reported an error: ${frame.message}`);
        return;
    }
  }

  private onRegisterAck(conn: Connection, frame: RegisterAckFrame): void {
    const { logger } = this.options;
    clearTimeout(conn.registerTimer);
    if (conn.resuming) {
      conn.resuming = false;
      if (frame.status !== 'success') {
        this.resumeFailed(conn, frame.message);
        return;
      }
      if (frame.resumed === true && this.session) {
        this.completeResume(conn, frame, this.session);
        return;
      }
      // Success without `resumed`: the gateway started a new session instead (one that does not know resumption).
      logger.warn('the gateway started a new session instead of resuming the old one');
      this.endSession();
    }
    if (frame.status !== 'success') {
      conn.fatal = `the gateway refused to register "${this.server?.name}": ${frame.message || 'no reason given'}`;
      conn.ws.close(1000);
      return;
    }
    conn.registered = true;
    conn.sessionId = frame.sessionId || undefined;
    const resume = this.options.resume;
    if (resume && frame.resumeToken !== undefined) {
      this.session = new ResumableSession(
        frame.sessionId,
        frame.resumeToken,
        {
          maxRetainedBytes: resume.maxRetainedBytes,
          ackEvery: resume.ackEvery ?? RESUME_DEFAULTS.ackEvery,
          ackDelayMs: resume.ackDelayMs ?? RESUME_DEFAULTS.ackDelayMs,
        },
        { sendAck: (ack) => this.sendAck(ack), schedule: resume.schedule },
      );
      this.sessionGraceMs = frame.resumeGraceMs;
      if (frame.resumeGraceMs !== undefined) {
        logger.debug(`the gateway keeps this session through a dropped connection for ${formatDelay(frame.resumeGraceMs)}`);
      }
    } else if (resume) {
      logger.debug('the gateway does not offer resumption: a dropped connection ends this session');
    }
    this.backoff.markUp();
    logger.info(`connected as session ${conn.sessionId ?? '(no id)'}`);
    this.handlers.registered(conn.sessionId ?? '', false, frame.mcpUrl);
  }

  /** The gateway took the session back: send again what it missed, then carry on. */
  private completeResume(conn: Connection, frame: RegisterAckFrame, session: ResumableSession): void {
    const missed = session.resumed(frame);
    if (missed === undefined) {
      // The gateway has already bound the session to this connection, and takes one register per
      // connection: end the session (its callers learn now) and start over on a new connection.
      this.options.logger.warn(
        `the gateway resumed session ${session.sessionId}, but frames it missed were let go (--resume-buffer); ending it and registering afresh`,
      );
      this.endSession();
      this.write(conn, { type: 'unregister' });
      conn.reconnectNow = true;
      conn.error = 'resume incomplete';
      conn.ws.close(1000, 'resume incomplete');
      return;
    }
    conn.registered = true;
    conn.sessionId = frame.sessionId || session.sessionId;
    for (const text of missed) this.writeText(conn, text, true);
    this.backoff.markUp();
    this.options.logger.info(`tunnel resumed (session ${conn.sessionId}, resent ${missed.length} frame${missed.length === 1 ? '' : 's'})`);
    this.handlers.registered(conn.sessionId, true, frame.mcpUrl);
  }

  /** A resume that did not work: the session is gone; a new one is registered on this connection. */
  private resumeFailed(conn: Connection, message: string | undefined): void {
    conn.resuming = false;
    this.options.logger.warn(`resume refused, registering afresh${message ? ` (${message})` : ''}`);
    this.endSession();
    if (!this.server) return;
    this.registerAfresh(conn, this.server);
    this.startRegisterTimer(conn);
  }

  /** A data frame: through the session's numbering when there is one, else straight to the tunnel. */
  private onData(conn: Connection, frame: RequestFrame | ResponseFrame): void {
    const session = this.session;
    if (!session) {
      this.handlers.payload(frame.payload);
      return;
    }
    const arrival = session.arrive(frame.seq, frame.ack);
    if (arrival === 'deliver') {
      this.handlers.payload(frame.payload);
      return;
    }
    if (arrival === 'duplicate') {
      this.options.logger.debug(`dropping frame ${frame.seq} from the gateway: received already`);
      return;
    }
    // Frames were lost in between: a new connection and a resume bring them again.
    this.options.logger.warn(
      `frame ${frame.seq ?? '(unnumbered)'} from the gateway is out of sequence (expected ${session.lastReceived + 1}); reconnecting to resume`,
    );
    conn.reconnectNow = true;
    conn.error = 'frame out of sequence';
    conn.ws.terminate();
  }

  /**
   * Reads the token file again, when there is one: the token in use becomes what it holds. A file
   * that cannot be read keeps the token in use (each problem is reported once).
   */
  private reloadToken(): { token: string | undefined; readError?: string } {
    const { tokenFile, readToken } = this.options;
    if (!tokenFile || !readToken) return { token: this.token };
    try {
      this.token = readToken(tokenFile);
      this.tokenReadProblem = undefined;
      return { token: this.token };
    } catch (err) {
      const readError = (err as Error).message;
      if (readError !== this.tokenReadProblem) this.options.logger.warn(`${readError}; keeping the token in use`);
      this.tokenReadProblem = readError;
      return { token: this.token, readError };
    }
  }

  /** The gateway warns that the tunnel's token expires at `expiresAt`: send a fresh one, or tell the user (once) what to do. */
  private onTokenExpiring(conn: Connection, expiresAt: number): void {
    const now = (this.options.now ?? Date.now)();
    const { token: fresh, readError } = this.reloadToken();
    const decision = decideRefresh({ fresh, readError, presented: this.presented, expiresAt, now, tokenFile: this.options.tokenFile });
    const left = `${formatDelay(Math.max(0, expiresAt - now))} (at ${new Date(expiresAt).toISOString()})`;
    if ('send' in decision) {
      this.options.logger.info(`the token expires in ${left}; sending the fresh one from ${this.options.tokenFile ?? 'the token file'}`);
      this.presented = decision.send;
      this.write(conn, { type: 'token_refresh', token: decision.send });
      return;
    }
    if (this.advisedFor === expiresAt) return;
    this.advisedFor = expiresAt;
    this.options.logger.warn(`the token expires in ${left} and then the gateway closes the tunnel: ${decision.advice}`);
  }

  /**
   * The gateway closed the tunnel because its token expired: with a fresh token in the file, the link
   * reconnects at once (a new session); otherwise the message for the user, and the link gives up.
   */
  private afterTokenExpired(conn: Connection): string | undefined {
    const now = (this.options.now ?? Date.now)();
    const { token: fresh, readError } = this.reloadToken();
    const decision = decideRefresh({ fresh, readError, presented: this.presented, expiresAt: now, now, tokenFile: this.options.tokenFile });
    if ('send' in decision) {
      this.options.logger.warn('the gateway closed the tunnel: its token expired; reconnecting with the fresh token from the token file');
      conn.reconnectNow = true;
      return undefined;
    }
    const where = this.options.tokenFile
      ? `no fresh one was found in ${this.options.tokenFile}`
      : 'it was not given in a file (--token-file)';
    return `the gateway closed the tunnel: its token expired and ${where}; start mcp-tunnel again with a valid token (with --token-file, rotating the file before expiry keeps the tunnel up)`;
  }

  private sendAck(ack: number): void {
    if (this.isRegistered) this.write(this.conn!, { type: 'ack', ack });
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    clearTimeout(conn.registerTimer);
    clearInterval(conn.keepalive);
    if (conn !== this.conn) return;
    this.conn = undefined;
    const established = this.backoff.markDown();
    // A gateway that shuts down ends its sessions (docs/protocol.md): a resume would only be refused.
    if (code === TunnelCloseCode.Restarting) this.endSession();
    // So does one whose token expired: the next connection registers afresh.
    if (code === 1008 && reason === TOKEN_EXPIRED_REASON) this.endSession();
    this.session?.suspend();
    if (conn.registered) this.handlers.disconnected(this.session !== undefined);
    if (this.stopped || !this.wanted) return;
    if (conn.closing) {
      // up() came while we were closing on purpose (a quick local restart): connect right away.
      this.connect();
      return;
    }

    const fatal = conn.fatal ?? this.refusal(conn, code, reason);
    if (fatal) {
      this.handlers.fatal(fatal);
      return;
    }
    if (!this.everConnected && !this.options.retryForever) {
      this.handlers.fatal(firstConnectionHint(this.options.url, conn));
      return;
    }
    const why = this.everConnected ? this.describeDrop(conn, code, reason) : firstConnectionHint(this.options.url, conn);
    const { maxRetries } = this.options;
    if (maxRetries > 0 && this.backoff.attempt >= maxRetries) {
      this.handlers.fatal(`giving up after ${maxRetries} reconnect attempt${maxRetries === 1 ? '' : 's'}: ${why}`);
      return;
    }
    const restarting = code === TunnelCloseCode.Restarting;
    // Neither says anything against the gateway, so the first attempt does not wait; waiveNext()
    // refuses a second waived attempt in a row, so a gateway that keeps dropping us still meets the backoff.
    // So is dropping a connection ourselves to resume on a new one.
    const immediate = (restarting || established || conn.reconnectNow === true) && this.backoff.waiveNext();
    const delay = this.backoff.next(this.resumeCeilingMs());
    const what = restarting ? 'gateway restarting' : conn.registered ? 'disconnected' : 'could not connect';
    const when = immediate ? 'reconnecting now' : `reconnecting in ${formatDelay(delay)}`;
    const line = `${what} (${why}); ${when} (attempt ${this.backoff.attempt})`;
    // A restart the gateway announced is routine, not a problem to warn about.
    if (restarting) this.options.logger.info(line);
    else this.options.logger.warn(line);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * While the gateway holds our session, no delay exceeds an eighth of its grace period, whatever
   * the base: a short outage must not outlast the grace because of a long backoff draw, and eight
   * attempts per grace period are still a bounded load.
   */
  private resumeCeilingMs(): number {
    if (!this.session || this.sessionGraceMs === undefined) return Infinity;
    return this.sessionGraceMs / RESUME_ATTEMPTS_PER_GRACE;
  }

  /** A refusal that retrying cannot fix, or undefined. */
  private refusal(conn: Connection, code: number, reason: string): string | undefined {
    if (conn.status === 401 || conn.status === 403) {
      return `the gateway refused the connection (HTTP ${conn.status}${conn.statusText ? `: ${conn.statusText}` : ''}); check the token: it may be missing, expired or meant for another gateway`;
    }
    if (code === 1008 && reason === TOKEN_EXPIRED_REASON) return this.afterTokenExpired(conn);
    if (REFUSAL_CLOSE_CODES.has(code)) {
      return `the gateway closed the connection (${code}${reason ? `: ${reason}` : ''}); check the token`;
    }
    if (conn.registered && (code === TunnelCloseCode.Replaced || /replaced/i.test(reason))) {
      // Another tunnel took the name over; fighting back would make the two evict each other forever.
      return `another tunnel registered the name "${this.server?.name}" and replaced this one`;
    }
    return undefined;
  }

  private describeDrop(conn: Connection, code: number, reason: string): string {
    if (conn.status !== undefined) return `HTTP ${conn.status}${conn.statusText ? `: ${conn.statusText}` : ''}`;
    if (conn.error && TLS_TRUST_ERRORS.has(conn.error)) {
      return `${conn.error}: the gateway's certificate is not trusted; if it comes from your own CA, pass --ca <file>`;
    }
    if (conn.error) return conn.error;
    return `code ${code}${reason ? `: ${reason}` : ''}`;
  }

  /** Sends unregister on an open connection, closes it, and waits (briefly) for the close. */
  private async close(reason: string): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    const { ws } = conn;
    conn.closing = true;
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.OPEN) {
      if (conn.registered) this.write(conn, { type: 'unregister' });
      ws.close(1000, reason.slice(0, 120));
    } else {
      ws.terminate();
    }
    const timer = setTimeout(() => ws.terminate(), 2000);
    await closed;
    clearTimeout(timer);
  }
}
