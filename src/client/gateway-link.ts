/**
 * The tunnel's WebSocket to the gateway: connect with the token, register, keep the connection
 * alive (heartbeat frames and ws pings; two silent intervals mean it is dead), and reconnect with
 * backoff. Losing a link that had stayed up, or a gateway closing with 1012 (restarting), is no
 * sign against the gateway: the first reconnect goes at once, and only failures after it wait.
 * Refusals that will not heal by retrying (bad token, a name taken by someone else) end the link
 * instead of hammering the gateway.
 */
import WebSocket, { type RawData } from 'ws';
import { TunnelCloseCode, type RegisteredServer, type TunnelToGatewayFrame } from '../protocol/envelopes.js';
import { frameText } from '../protocol/frame-text.js';
import { DEFAULT_MAX_JSON_DEPTH, FRAME_ENVELOPE_DEPTH, parseJsonWithin } from '../protocol/json-limits.js';
import { isObject } from '../protocol/json-rpc.js';
import { WriteCoalescer } from '../protocol/write-coalescer.js';
import { Backoff, formatDelay } from './backoff.js';
import { displayUrl } from './gateway-url.js';
import type { Logger } from './logger.js';

export interface LinkHandlers {
  /** register_ack with status success: the tunnel may send. */
  registered(sessionId: string): void;
  /** A JSON-RPC payload from the gateway (`request` or `response` envelope). */
  payload(message: unknown): void;
  /** The registered connection is gone (a reconnect may follow). */
  disconnected(): void;
  /** The link gave up; the message says why, for the user. */
  fatal(message: string): void;
}

export interface LinkOptions {
  url: URL;
  token?: string;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string[];
  insecure: boolean;
  keepaliveMs: number;
  reconnectDelayMs: number;
  /** 0 = retry forever. */
  maxRetries: number;
  registerTimeoutMs: number;
  userAgent: string;
  logger: Logger;
  /** Injected for tests; defaults to Math.random (the backoff's jitter). */
  random?: () => number;
  /** Injected for tests; defaults to Date.now (how long a registered connection stayed up). */
  now?: () => number;
}

/**
 * A registered connection that stays up this long counts as established: when it drops, the
 * backoff starts over and the first reconnect is immediate. Short, so that back-to-back gateway
 * restarts do not add up; not zero, so that a gateway that accepts and drops at once meets a
 * growing delay.
 */
export const LINK_STABLE_AFTER_MS = 5_000;

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
  /** We are closing it (down/stop), so its close is not a drop to recover from. */
  closing?: boolean;
  /** Any frame or pong since the last keepalive tick. */
  heard: boolean;
  silentTicks: number;
  keepalive?: NodeJS.Timeout;
  registerTimer?: NodeJS.Timeout;
}

/** Certificate errors that --ca fixes (when the gateway uses a private CA or a self-signed certificate). */
const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Close codes by which a gateway says "do not come back with these credentials". */
const REFUSAL_CLOSE_CODES = new Set([1008, 4401, 4403]);

export class GatewayLink {
  private server: RegisteredServer | undefined;
  private conn: Connection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

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
  }

  get isRegistered(): boolean {
    return this.conn?.registered === true && this.conn.ws.readyState === WebSocket.OPEN;
  }

  get sessionId(): string | undefined {
    return this.conn?.sessionId;
  }

  /** Connects (if needed) and registers `server`; after a drop, reconnects on its own. */
  up(server: RegisteredServer): void {
    if (this.stopped) return;
    this.server = server;
    if (!this.conn && !this.retryTimer) this.connect();
  }

  /** Unregisters and closes without reconnecting, until the next up(). */
  down(reason: string): Promise<void> {
    this.server = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.close(reason);
  }

  stop(reason = 'client shutting down'): Promise<void> {
    this.stopped = true;
    return this.down(reason);
  }

  /** Sends a frame on the registered connection; false when there is none (the caller buffers). */
  send(frame: TunnelToGatewayFrame): boolean {
    if (!this.isRegistered) return false;
    this.write(this.conn!, frame);
    return true;
  }

  private write(conn: Connection, frame: TunnelToGatewayFrame): void {
    const data = JSON.stringify(frame);
    if (frame.type !== 'heartbeat') this.options.logger.debug(`-> gateway ${data}`);
    conn.writes?.hold();
    conn.ws.send(data);
  }

  private connect(): void {
    this.retryTimer = undefined;
    const { logger, url } = this.options;
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    logger.info(`connecting to ${displayUrl(url)}${this.backoff.attempt > 0 ? ` (attempt ${this.backoff.attempt})` : ''}`);
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
    const server = this.server;
    if (!server || conn !== this.conn) {
      conn.ws.close(1000);
      return;
    }
    this.options.logger.info(`connected; registering "${server.name}"`);
    this.write(conn, { type: 'register', server });
    conn.registerTimer = setTimeout(() => {
      this.options.logger.warn(`no answer to register within ${formatDelay(this.options.registerTimeoutMs)}`);
      conn.error = 'register timed out';
      conn.ws.terminate();
    }, this.options.registerTimeoutMs);
    conn.keepalive = setInterval(() => this.keepalive(conn), this.options.keepaliveMs);
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
    if (conn !== this.conn) return;
    const { logger } = this.options;
    const text = isBinary ? undefined : frameText(data);
    let frame: Record<string, unknown> | undefined;
    const parsed = text === undefined ? undefined : parseJsonWithin(text, DEFAULT_MAX_JSON_DEPTH + FRAME_ENVELOPE_DEPTH);
    if (parsed?.ok === false && parsed.reason === 'too-deep') {
      logger.warn(`ignoring a frame from the gateway that nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      return;
    }
    if (parsed?.ok && isObject(parsed.value)) frame = parsed.value;
    if (!frame || typeof frame.type !== 'string') {
      logger.warn(`ignoring a frame from the gateway that is not a JSON object with a type: ${(text ?? '<binary>').slice(0, 200)}`);
      return;
    }
    if (frame.type !== 'heartbeat') logger.debug(`<- gateway ${text}`);
    const message = typeof frame.message === 'string' ? frame.message : '';
    switch (frame.type) {
      case 'register_ack':
        clearTimeout(conn.registerTimer);
        if (frame.status !== 'success') {
          conn.fatal = `the gateway refused to register "${this.server?.name}": ${message || 'no reason given'}`;
          conn.ws.close(1000);
          return;
        }
        conn.registered = true;
        conn.sessionId = typeof frame.sessionId === 'string' ? frame.sessionId : undefined;
        this.backoff.markUp();
        logger.info(`connected as session ${conn.sessionId ?? '(no id)'}`);
        this.handlers.registered(conn.sessionId ?? '');
        return;
      case 'register_complete':
        if (frame.status !== 'success') {
          conn.fatal = `the gateway could not complete the registration of "${this.server?.name}": ${message || 'no reason given'}`;
          conn.ws.close(1000);
          return;
        }
        logger.info(`registered as "${this.server?.name}"`);
        return;
      case 'heartbeat':
        // A reply (or the gateway's own keepalive); answering it would start an echo loop.
        return;
      case 'request':
      case 'response':
        this.handlers.payload(frame.payload);
        return;
      case 'error':
        if (!conn.registered) {
          // The gateway rejected our register frame; sending it again would fail the same way.
          conn.fatal = `the gateway rejected the registration: ${message}`;
          conn.ws.close(1000);
          return;
        }
        logger.warn(`the gateway reported an error: ${message}`);
        return;
      default:
        logger.debug(`ignoring a "${frame.type}" frame from the gateway`);
    }
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    clearTimeout(conn.registerTimer);
    clearInterval(conn.keepalive);
    if (conn !== this.conn) return;
    this.conn = undefined;
    const established = this.backoff.markDown();
    if (conn.registered) this.handlers.disconnected();
    if (this.stopped || !this.server) return;
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
    const why = this.describeDrop(conn, code, reason);
    const { maxRetries } = this.options;
    if (maxRetries > 0 && this.backoff.attempt >= maxRetries) {
      this.handlers.fatal(`giving up after ${maxRetries} reconnect attempt${maxRetries === 1 ? '' : 's'}: ${why}`);
      return;
    }
    const restarting = code === TunnelCloseCode.Restarting;
    // Neither says anything against the gateway, so the first attempt does not wait; waiveNext()
    // refuses a second waived attempt in a row, so a gateway that keeps dropping us still meets the backoff.
    const immediate = (restarting || established) && this.backoff.waiveNext();
    const delay = this.backoff.next();
    const what = restarting ? 'gateway restarting' : conn.registered ? 'disconnected' : 'could not connect';
    const when = immediate ? 'reconnecting now' : `reconnecting in ${formatDelay(delay)}`;
    const line = `${what} (${why}); ${when} (attempt ${this.backoff.attempt})`;
    // A restart the gateway announced is routine, not a problem to warn about.
    if (restarting) this.options.logger.info(line);
    else this.options.logger.warn(line);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** A refusal that retrying cannot fix, or undefined. */
  private refusal(conn: Connection, code: number, reason: string): string | undefined {
    if (conn.status === 401 || conn.status === 403) {
      return `the gateway refused the connection (HTTP ${conn.status}${conn.statusText ? `: ${conn.statusText}` : ''}); check the token`;
    }
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
