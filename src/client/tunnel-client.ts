/**
 * One tunnel: a local MCP server (kept alive by the supervisor) joined to the gateway (kept
 * connected by the link), and the relay between them.
 *
 * Relay rules, both ways newline-delimited JSON-RPC:
 * - gateway `request`/`response` envelope -> the local server, whatever the payload;
 * - local answer (id + result/error) -> `response`; notification -> `notification`;
 *   server-to-client request (method + id) -> `request`.
 * Answers are only sent for calls of the current session: the gateway numbers its calls per
 * session, so an answer from before a new registration could match a new, unrelated call. A
 * resumable session outlives a dropped connection (docs/protocol.md, "Resumption"): its calls stay
 * awaited, and whatever the local server says meanwhile is numbered and kept by the link for the
 * resume. Otherwise notifications and server requests made while disconnected wait in a bounded outbox.
 * Each gateway request reaches the local server at most once (HandedRequests).
 *
 * A local server that exits is restarted under the same tunnel session: its calls in flight fail
 * (the process running them is gone), calls arriving meanwhile are refused as "restarting". When the
 * new one is ready and registers the same (name and capabilities, what the gateway's MCP clients
 * negotiated), it is subscribed again to the resources the gateway holds through the tunnel and
 * the gateway hears `list_changed` for the lists it declares, so no MCP client has to start over.
 * One that comes back different is registered afresh, as a new session.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { NotificationFrame, RegisteredServer, RequestFrame, ResponseFrame } from '../protocol/envelopes.js';
import {
  classifyJsonRpc,
  isObject,
  jsonRpcError,
  JsonRpcErrorCode,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../protocol/json-rpc.js';
import { formatDelay } from './backoff.js';
import type { TunnelOptions } from './config.js';
import { readTokenFile } from './config-file.js';
import { backOnlineLine, onlineBanner } from './connection-banner.js';
import { GatewayLink } from './gateway-link.js';
import { HandedRequests } from './handed-requests.js';
import type { HandshakeResult } from './handshake.js';
import { HeldSubscriptions } from './held-subscriptions.js';
import type { LocalServer, LocalServerExit, LocalServerFactory } from './local-server.js';
import { localServerFactory } from './local-server-factory.js';
import { LocalSupervisor } from './local-supervisor.js';
import type { Logger } from './logger.js';
import { Outbox } from './outbox.js';
import { buildRegistration, sameRegistration } from './registration.js';
import type { Schedule } from './resumable-session.js';

export interface TunnelClientDeps {
  logger: Logger;
  version: string;
  /** Where the local server's stderr lines go; default process.stderr. */
  stderr?: (line: string) => void;
  /** Where the block announcing the MCP URL goes (no timestamps: it is meant to be copied); default process.stderr. */
  print?: (line: string) => void;
  createLocalServer?: LocalServerFactory;
  /** Injected for tests: the timer of owed acknowledgements in a resumable session. */
  schedule?: Schedule;
}

interface InFlight {
  id: JsonRpcId;
  timer?: NodeJS.Timeout;
  /** A `resources/subscribe` of this URI: held once the server answers it with a success. */
  subscribes?: string;
}

/** How long the gateway may take to answer `register`. */
const REGISTER_TIMEOUT_MS = 30_000;

const idKey = (id: JsonRpcId): string => `${typeof id}:${id}`;

/** The lists a server may declare in its capabilities, and the notification saying each may have changed. */
const LIST_CHANGED_NOTIFICATIONS: readonly (readonly [capability: string, method: string])[] = [
  ['tools', 'notifications/tools/list_changed'],
  ['prompts', 'notifications/prompts/list_changed'],
  ['resources', 'notifications/resources/list_changed'],
];

/** Ids of the client's own `resources/subscribe` calls to a restarted server (the gateway's are its own, `gw-N`). */
const RESUBSCRIBE_ID_PREFIX = 'tunnel-resubscribe-';

export class TunnelClient {
  private readonly supervisor: LocalSupervisor;
  private readonly link: GatewayLink;
  private readonly outbox: Outbox;
  /** Gateway requests of the current session handed to the local server and not answered yet. */
  private readonly inFlight = new Map<string, InFlight>();
  /** Ids of the session's requests already taken: a request never reaches the local server twice. */
  private readonly handed = new HandedRequests();
  private readonly logger: Logger;
  private finished = false;
  private resolveDone!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));
  private announcedName: string | undefined;
  /** What the online block last announced; a new session with the same name and URL gets one line. */
  private announcedOnline: { name: string; mcpUrl: string | undefined } | undefined;
  private readonly print: (line: string) => void;
  /** The first registration has happened (what the local server said before it is no news). */
  private everRegistered = false;
  /** What the link registers; a restarted server that registers the same keeps the session. */
  private registration: RegisteredServer | undefined;
  /** Resource subscriptions the gateway holds through this tunnel, for a restarted server. */
  private readonly subscriptions = new HeldSubscriptions();
  /** Our own re-subscriptions of a restarted server not answered yet: id -> URI. */
  private readonly resubscribing = new Map<string, string>();
  private resubscribeSeq = 0;

  constructor(
    private readonly options: TunnelOptions,
    deps: TunnelClientDeps,
  ) {
    this.logger = deps.logger;
    this.print = deps.print ?? ((line) => process.stderr.write(`${line}\n`));
    this.outbox = new Outbox(options.maxBuffered);
    const create = deps.createLocalServer ?? localServerFactory({ stdio: { stderr: deps.stderr } });
    this.supervisor = new LocalSupervisor(
      {
        target: options.local,
        create,
        handshakeTimeoutMs: options.startupTimeoutMs,
        maxRestarts: options.maxRestarts,
        restartDelayMs: options.reconnectDelayMs,
        clientInfo: { name: 'mcp-tunnel', version: deps.version },
        logger: this.logger,
      },
      {
        ready: (handshake, server) => this.onLocalReady(handshake, server),
        message: (message) => this.fromLocal(message),
        down: (exit, restartInMs, starting) => this.onLocalDown(exit, restartInMs, starting),
        failed: (reason, exitCode, tail) => this.onLocalFailed(reason, exitCode, tail),
      },
    );
    this.link = new GatewayLink(
      {
        url: options.gatewayUrl,
        token: options.token,
        // Read again before each connection and when the gateway warns of expiry: rotating the file just works.
        tokenFile: options.tokenFile,
        readToken: readTokenFile,
        forwardIdentity: options.forwardIdentity,
        ca: options.caFile ? [...rootCertificates, readFileSync(options.caFile, 'utf8')] : undefined,
        insecure: options.insecure,
        keepaliveMs: options.keepaliveMs,
        reconnectDelayMs: options.reconnectDelayMs,
        maxRetries: options.maxRetries,
        retryForever: options.retryForever,
        registerTimeoutMs: REGISTER_TIMEOUT_MS,
        userAgent: `mcp-tunnel/${deps.version}`,
        logger: this.logger,
        resume: options.resume ? { maxRetainedBytes: options.resumeBufferBytes, schedule: deps.schedule } : undefined,
        share: options.share,
      },
      {
        // The gateway is there and takes the token: now the local server may start (an `npx` download, perhaps).
        reachable: () => this.supervisor.start(),
        registered: (_sessionId, resumed, mcpUrl) => this.onRegistered(resumed, mcpUrl),
        payload: (message) => this.fromGateway(message),
        disconnected: (kept) => {
          if (!kept) this.forgetInFlight();
        },
        fatal: (message) => {
          this.logger.error(message);
          void this.finish(1);
        },
      },
    );
  }

  /**
   * Starts the tunnel: the gateway first (a wrong URL or token ends the run before the local server
   * is started), then the local server, which the link registers once it is ready. Resolves with the
   * process exit code once it has ended.
   */
  run(): Promise<number> {
    this.link.open();
    return this.done;
  }

  /** Graceful shutdown: unregister, close the socket, stop the local server. */
  stop(): Promise<number> {
    void this.finish(0);
    return this.done;
  }

  private async finish(code: number): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const entry of this.inFlight.values()) clearTimeout(entry.timer);
    await Promise.allSettled([this.link.stop(), this.supervisor.stop()]);
    this.resolveDone(code);
  }

  // ---- local server lifecycle ----

  private onLocalReady(handshake: HandshakeResult, server: LocalServer): void {
    if (this.finished) return;
    const { server: registration, warnings } = buildRegistration({
      handshake,
      protocol: server.protocol,
      name: this.options.name,
      description: this.options.description,
    });
    for (const warning of warnings) this.logger.warn(warning);
    const registered = this.registration;
    this.registration = registration;
    if (registered && sameRegistration(registered, registration)) {
      // The session carries on; should it have to register again later, it does so with what this server reported.
      this.link.up(registration);
      this.carryOn(registration);
      return;
    }
    if (registered) {
      const change = registered.name !== registration.name ? `is now named "${registration.name}"` : 'declares other capabilities';
      this.logger.warn(
        `the restarted local server ${change}: the gateway's MCP clients negotiated the old ones, so the tunnel session ends and it registers again`,
      );
      // The new session is subscribed again by the gateway itself, to what its clients follow.
      this.subscriptions.clear();
      void this.link.down('local server changed');
    }
    if (this.announcedName !== registration.name && this.options.name === undefined) {
      this.logger.info(`registering as "${registration.name}" (from the server's serverInfo.name; --name overrides)`);
    }
    this.announcedName = registration.name;
    this.link.up(registration);
  }

  private onLocalDown(exit: LocalServerExit, restartInMs: number, starting: boolean): void {
    if (this.finished) return;
    if (starting) {
      this.logger.warn(
        `the local server ${exit.reason} before completing the MCP handshake; trying once more in ${formatDelay(restartInMs)}`,
      );
      return;
    }
    this.logger.warn(`the local server ${exit.reason}; restarting it in ${formatDelay(restartInMs)}, the tunnel session stays up`);
    // Callers waiting on it learn now, not at their timeout.
    this.failInFlight(`The local server ${exit.reason} before answering`);
    this.resubscribing.clear();
    // Whatever the dead server queued refers to state that is gone.
    this.outbox.clear();
  }

  /**
   * The restarted server registers as the one before: the session goes on. The server is
   * subscribed again to what the gateway holds, and the gateway hears that the lists the server
   * declares may have changed, so its MCP clients fetch them again.
   */
  private carryOn(registration: RegisteredServer): void {
    const restored = this.resubscribe();
    const capabilities = registration.capabilities ?? {};
    for (const [capability, method] of LIST_CHANGED_NOTIFICATIONS) {
      if (isObject(capabilities[capability])) this.toGateway({ type: 'notification', payload: { jsonrpc: '2.0', method } });
    }
    this.logger.info(`local server restarted; tunnel session kept, ${restored} subscription${restored === 1 ? '' : 's'} restored`);
  }

  /** Sends the restarted server a `resources/subscribe` of our own for each subscription held; returns how many. */
  private resubscribe(): number {
    const uris = this.subscriptions.uris;
    let reported = false;
    for (const uri of uris) {
      const id = `${RESUBSCRIBE_ID_PREFIX}${++this.resubscribeSeq}`;
      this.resubscribing.set(id, uri);
      this.supervisor.send({ jsonrpc: '2.0', id, method: 'resources/subscribe', params: { uri } }).catch((err: Error) => {
        this.resubscribing.delete(id);
        // One line: when one cannot be sent, the server is gone and none of the rest can.
        if (!reported) this.logger.warn(`could not subscribe the restarted local server to ${brief(uri)}: ${err.message}`);
        reported = true;
      });
    }
    return uris.length;
  }

  /** An answer to one of our own re-subscriptions stays here: the gateway never asked. True when it was one. */
  private settleResubscription(answer: JsonRpcResponse): boolean {
    const uri = typeof answer.id === 'string' ? this.resubscribing.get(answer.id) : undefined;
    if (uri === undefined) return false;
    this.resubscribing.delete(answer.id as string);
    if ('error' in answer) {
      this.logger.warn(`the restarted local server refused the subscription to ${brief(uri)}: ${String(answer.error?.message)}`);
    }
    return true;
  }

  private onLocalFailed(reason: string, exitCode: number, stderrTail: string[]): void {
    if (this.finished) return;
    this.logger.error(`${reason}; giving up`);
    if (stderrTail.length > 0) {
      this.logger.error(`last lines it wrote to stderr:\n  ${stderrTail.join('\n  ')}`);
    }
    this.failInFlight(`The local server ${reason}`);
    void this.finish(exitCode);
  }

  // ---- gateway sessions ----

  private onRegistered(resumed: boolean, mcpUrl: string | undefined): void {
    this.announce(resumed, mcpUrl);
    if (!resumed) {
      // A new session: calls of an earlier one (kept for a resume that did not happen) are the
      // gateway's to fail, and its request ids start over. The gateway subscribes the server again
      // itself, to what its clients follow.
      this.forgetInFlight();
      this.handed.clear();
      this.subscriptions.clear();
    }
    this.flushOutbox();
  }

  /** The first registration (or one under another name or URL) prints the online block; later ones a line. */
  private announce(resumed: boolean, mcpUrl: string | undefined): void {
    const name = this.registration?.name;
    if (name === undefined || !this.logger.enabled('info')) return;
    const last = this.announcedOnline;
    // A resume that does not repeat the URL (a connection carried to another replica) still means the same one.
    const url = mcpUrl ?? (resumed ? last?.mcpUrl : undefined);
    if (last && last.name === name && last.mcpUrl === url) {
      this.logger.info(backOnlineLine(name, url, resumed));
      return;
    }
    this.announcedOnline = { name, mcpUrl: url };
    for (const line of onlineBanner(name, url)) this.print(line);
  }

  // ---- relay: gateway -> local ----

  private fromGateway(payload: unknown): void {
    if (this.finished) return;
    const kind = classifyJsonRpc(payload);
    if (kind === undefined) {
      this.logger.warn(`ignoring a payload from the gateway that is not JSON-RPC: ${JSON.stringify(payload)?.slice(0, 200)}`);
      return;
    }
    const message = payload as JsonRpcMessage;
    if (kind === 'request') {
      const request = message as JsonRpcRequest;
      if (!this.handed.claim(request.id)) {
        this.logger.warn(`dropping a second copy of request ${JSON.stringify(request.id)} from the gateway: it was taken already`);
        return;
      }
      // The gateway no longer holds a subscription it unsubscribes, whatever the server answers (even while it restarts).
      const unsubscribed = request.method === 'resources/unsubscribe' ? subscriptionUri(request) : undefined;
      if (unsubscribed !== undefined) this.forgetSubscription(unsubscribed);
      if (!this.supervisor.isReady) {
        this.answer(jsonRpcError(request.id, JsonRpcErrorCode.TunnelClosed, 'The local server is restarting'));
        return;
      }
      this.track(request);
    } else {
      if (kind === 'notification' && (message as JsonRpcNotification).method === 'notifications/cancelled') {
        const requestId = ((message as JsonRpcNotification).params as Record<string, unknown> | undefined)?.requestId;
        if (typeof requestId === 'string' || typeof requestId === 'number') this.untrack(requestId);
      }
      if (!this.supervisor.isReady) {
        // Meant for the server that is gone (or answering its requests): the next one knows nothing of it.
        this.logger.debug(`dropping a ${kind} from the gateway: the local server is restarting`);
        return;
      }
    }
    this.supervisor.send(message).catch((err: Error) => {
      this.logger.warn(`could not deliver a message to the local server: ${err.message}`);
      if (kind === 'request') {
        const { id } = message as JsonRpcRequest;
        if (this.untrack(id))
          this.answer(jsonRpcError(id, JsonRpcErrorCode.InternalError, `Could not reach the local server: ${err.message}`));
      }
    });
  }

  private track(request: JsonRpcRequest): void {
    const entry: InFlight = { id: request.id };
    if (request.method === 'resources/subscribe') entry.subscribes = subscriptionUri(request);
    const timeoutMs = this.options.requestTimeoutMs;
    if (timeoutMs !== undefined) {
      entry.timer = setTimeout(() => {
        if (!this.untrack(request.id)) return;
        this.answer(
          jsonRpcError(request.id, JsonRpcErrorCode.RequestTimeout, `The local server did not answer within ${formatDelay(timeoutMs)}`),
        );
        this.supervisor
          .send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: request.id, reason: 'Timed out in the tunnel client' },
          })
          .catch(() => undefined);
      }, timeoutMs);
    }
    this.inFlight.set(idKey(request.id), entry);
  }

  /** Forgets a call; returns it when it was still waiting. */
  private untrack(id: JsonRpcId): InFlight | undefined {
    const entry = this.inFlight.get(idKey(id));
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.inFlight.delete(idKey(id));
    return entry;
  }

  /** The gateway unsubscribed a URI; a subscribe of it still in flight reaches the server first, so it no longer counts. */
  private forgetSubscription(uri: string): void {
    this.subscriptions.delete(uri);
    for (const entry of this.inFlight.values()) if (entry.subscribes === uri) entry.subscribes = undefined;
  }

  /** The server took a subscription: remember it for a restart, within HELD_SUBSCRIPTION_LIMITS. */
  private holdSubscription(uri: string): void {
    if (this.subscriptions.add(uri) || this.subscriptions.refused !== 1) return;
    const { uris, uriLength } = this.subscriptions.limits;
    const why = uri.length > uriLength ? `its URI is longer than ${uriLength} characters` : `${uris} subscriptions are held already`;
    // Once per session: a client subscribing to many URIs would otherwise fill the log.
    this.logger.warn(
      `a restart of the local server will not restore the subscription to ${brief(uri)} (${why}), nor others past the limits`,
    );
  }

  private failInFlight(message: string): void {
    for (const entry of [...this.inFlight.values()]) {
      this.untrack(entry.id);
      this.answer(jsonRpcError(entry.id, JsonRpcErrorCode.InternalError, message));
    }
  }

  /** The connection those calls came over is gone, and the gateway has failed them already. */
  private forgetInFlight(): void {
    for (const entry of this.inFlight.values()) clearTimeout(entry.timer);
    this.inFlight.clear();
  }

  private answer(response: JsonRpcResponse): void {
    this.link.send({ type: 'response', payload: response });
  }

  // ---- relay: local -> gateway ----

  private fromLocal(message: unknown): void {
    if (this.finished) return;
    const kind = classifyJsonRpc(message);
    if (kind === undefined) {
      this.logger.warn(`ignoring output from the local server that is not JSON-RPC: ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    const payload = message as JsonRpcMessage;
    if (kind === 'response') {
      const answer = payload as JsonRpcResponse;
      if (this.settleResubscription(answer)) return;
      const { id } = answer;
      const call = id === null ? undefined : this.untrack(id);
      if (!call) {
        this.logger.debug(`dropping an answer no caller on this connection waits for (id ${JSON.stringify(id)})`);
        return;
      }
      if (call.subscribes !== undefined && 'result' in answer) this.holdSubscription(call.subscribes);
      const frame: ResponseFrame = { type: 'response', payload };
      if (!this.link.send(frame)) this.logger.debug(`the gateway connection closed before answer ${JSON.stringify(id)} could be sent`);
      return;
    }
    this.toGateway({ type: kind, payload });
  }

  /** Sends a notification or server request, or holds it in the outbox while it can be neither sent nor kept for a resume. */
  private toGateway(frame: NotificationFrame | RequestFrame): void {
    if (this.link.send(frame)) return;
    if (this.outbox.push(frame) && this.outbox.dropped === 1) {
      this.logger.warn(`the gateway is unreachable and ${this.outbox.limit} messages are waiting; dropping the oldest from now on`);
    }
  }

  private flushOutbox(): void {
    const first = !this.everRegistered;
    this.everRegistered = true;
    const { frames, dropped } = this.outbox.drain();
    if (frames.length === 0) return;
    const count = `${frames.length} message${frames.length === 1 ? '' : 's'}`;
    if (first) {
      // What the server said while it started (log notifications, a roots/list): routine, not a backlog.
      this.logger.debug(`relaying ${count} the local server sent before the tunnel was registered`);
    } else {
      this.logger.info(
        `relayed ${count} the local server sent while the gateway was away${dropped ? ` (${dropped} older ones were dropped)` : ''}`,
      );
    }
    for (const frame of frames) this.link.send(frame);
  }
}

/** The `uri` of a resources/subscribe or resources/unsubscribe request, when it has one. */
function subscriptionUri(request: JsonRpcRequest): string | undefined {
  const uri = isObject(request.params) ? request.params.uri : undefined;
  return typeof uri === 'string' ? uri : undefined;
}

/** A URI for the log: short, and quoted so that odd characters show. */
function brief(uri: string): string {
  return JSON.stringify(uri.length > 200 ? `${uri.slice(0, 200)}…` : uri);
}
