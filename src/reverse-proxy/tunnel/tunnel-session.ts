import { filter, Subject, type Observable } from 'rxjs';
import { AccessRules } from '../../auth/access-rules.js';
import type { Principal } from '../../auth/principal.js';
import { CALLER_META_KEY, type CallerIdentity, type GatewayToTunnelFrame, type RegisteredServer } from '../../protocol/envelopes.js';
import {
  classifyJsonRpc,
  isObject,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../protocol/json-rpc.js';
import { ResumeWindow, type Arrival, type ResumeWindowLimits } from '../../protocol/resume-window.js';
import type { CallContext, InFlightCall, TunnelCaller } from './call-context.js';
import { CallStats, preciseNow, type CallStatsSnapshot } from './call-stats.js';
import { CallError, PendingCalls } from './pending-calls.js';
import { SendBacklog, type SendBacklogLimits } from './send-backlog.js';
import { publishAsEvent, type RequestingTunnel, type ServerRequestRouter } from './server-request-router.js';
import type { SessionEvent } from './session-event.js';
import type { SessionHandle, SessionState, TunnelHandle, TunnelInfo } from './tunnel-handle.js';
import type { TokenExpiry } from './token-expiry.js';

export type { SessionState } from './tunnel-handle.js';

/** The part of a WebSocket a session needs; lets unit tests use a plain object. */
export interface TunnelSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes written but not yet taken by the peer; unknown (never refused) when absent. */
  readonly bufferedAmount?: number;
  /** Drops the connection without a closing handshake (which a peer that does not read never completes). */
  terminate?(): void;
}

/** What a session tells the gateway's metrics (GatewayMetrics): its traffic and its end. */
export interface SessionMeter {
  frameIn(bytes: number): void;
  frameOut(bytes: number): void;
  tunnelClosed(reason: string): void;
}

export interface SessionLimits {
  maxPending: number;
  /** Refuse messages to a tunnel that is not reading, and close it when it stays so; unbounded when absent. */
  backlog?: SendBacklogLimits;
  /** Told every frame and the session's end; none when absent. */
  meter?: SessionMeter;
}

/** Messages a tunnel that stopped reading is refused with. */
const NOT_READING = 'The tunnel is not reading; try again later';
/** ... and one that is reconnecting, once what waits for it reached the resume buffer's bound. */
const RECONNECTING = 'The tunnel is reconnecting; try again shortly';

/** How long an acknowledgement owed to a resumable tunnel waits for a frame to ride on. */
export const ACK_DELAY_MS = 100;

/** What a resumable session keeps (docs/protocol.md, "Resumption"). */
export interface ResumeLimits extends ResumeWindowLimits {
  /** How long the session waits for its client after the connection dropped. */
  graceMs: number;
}

/** Outcome of handing a tunnel payload to the session. */
export type InboundResult = 'routed' | 'unmatched' | 'invalid';

/** What a client asked for in its `register` besides the server (docs/protocol.md). */
export interface RegisterFeatures {
  /** It takes `token_expiring` and sends `token_refresh`. */
  tokenRefresh?: boolean;
  /** Its local server gets the verified caller under `_meta[CALLER_META_KEY]` of each request. */
  forwardIdentity?: boolean;
}

/** Heartbeats are answered at most this often, so a client that echoes them cannot ping-pong. */
export const HEARTBEAT_REPLY_INTERVAL_MS = 1000;

/** Longest `protocolVersion` and `instructions` kept from a server's initialize answer. */
const MAX_PROTOCOL_VERSION_LENGTH = 32;
const MAX_INSTRUCTIONS_LENGTH = 16384;

/**
 * One tunnel: sends frames down its WebSocket, correlates calls with their answers and
 * publishes everything else the local server says as session events. The in-process
 * implementation of the handles the doors use (tunnel-handle.ts); its state changes only
 * through its own verbs, driven by the tunnel endpoint (gateway, protocol service).
 */
export class TunnelSession implements SessionHandle, RequestingTunnel {
  readonly connectedAt = new Date();
  private lastActivityAt = Date.now();
  private currentState: SessionState = 'connected';
  private reasonClosed: string | undefined;
  private registered: RegisteredServer | undefined;
  /** Who besides the owner may use the server; changed only by share(). */
  private accessRules = AccessRules.ONLY_OWNER;
  private framesIn = 0;
  private framesOut = 0;
  private bytesReceived = 0;
  private bytesSent = 0;
  /** SSE streams following this session; server requests are published only while one is. */
  private streamSubscribers = 0;
  /** When the last heartbeat reply went out. */
  private lastHeartbeatReplyAt = 0;
  /** What the client's `register` asked for besides the server. */
  private features: RegisterFeatures = {};
  /** The tunnel's own verified identity, from its token (a refresh replaces it); undefined for a connection carried from another replica. */
  private identity: Principal | undefined;
  /** The schedule of the tunnel's token: warned, then closed at its `exp`. */
  private expiry: TokenExpiry | undefined;

  private readonly pending: PendingCalls;
  /** Calls per interval and their latency, recorded by `pending` as each call ends. */
  private readonly stats = new CallStats();
  private readonly backlog: SendBacklog | undefined;
  private readonly meter: SessionMeter | undefined;
  /** The connection now carrying the tunnel; undefined while a resumable session waits for its client. */
  private socket: TunnelSocket | undefined;
  /** Numbering and kept frames of a resumable session. */
  private window: ResumeWindow | undefined;
  private graceMs = 0;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private serverRequestRouter: ServerRequestRouter = publishAsEvent;
  private readonly events = new Subject<SessionEvent>();
  /** Hot stream of this session's events; completes after `closed`. */
  readonly events$: Observable<SessionEvent> = this.events.asObservable();
  /** Notifications and `closed` only (see SessionHandle). */
  readonly notifications$: Observable<SessionEvent> = this.events$.pipe(filter((e) => e.type === 'notification' || e.type === 'closed'));

  constructor(
    readonly id: string,
    /** Owner key of the principal that opened the tunnel; null when anonymous. */
    readonly owner: string | null,
    socket: TunnelSocket,
    limits: SessionLimits,
    /** Epoch ms, for the send backlog's deadlines and the call stats. */
    private readonly now: () => number = preciseNow,
  ) {
    this.socket = socket;
    this.pending = new PendingCalls(limits.maxPending, 'gw-', 'the tunnel', { stats: this.stats, clock: now });
    this.backlog = limits.backlog && new SendBacklog(limits.backlog, now);
    this.meter = limits.meter;
  }

  get state(): SessionState {
    return this.currentState;
  }

  /** What the tunnel registered; undefined before `register`. */
  get server(): Readonly<RegisteredServer> | undefined {
    return this.registered;
  }

  get name(): string | undefined {
    return this.registered?.name;
  }

  /** Who besides the owner may use the server (only the owner until share()). */
  get access(): AccessRules {
    return this.accessRules;
  }

  /** Replaces who besides the owner may use the server (the register's `share`, or the REST API); later calls are judged by it. */
  share(rules: AccessRules): void {
    this.accessRules = rules;
  }

  /** Why the session closed, once it has. */
  get closeReason(): string | undefined {
    return this.reasonClosed;
  }

  get lastActivity(): number {
    return this.lastActivityAt;
  }

  get messagesIn(): number {
    return this.framesIn;
  }

  get messagesOut(): number {
    return this.framesOut;
  }

  get bytesIn(): number {
    return this.bytesReceived;
  }

  get bytesOut(): number {
    return this.bytesSent;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get isOpen(): boolean {
    return this.currentState !== 'closed';
  }

  get hasStreamSubscribers(): boolean {
    return this.streamSubscribers > 0;
  }

  /** SSE streams following this session. */
  get streamSubscriberCount(): number {
    return this.streamSubscribers;
  }

  /** Whether the session outlives a dropped connection (its client asked for resumption). */
  get resumable(): boolean {
    return this.window !== undefined && this.graceMs > 0;
  }

  /** Whether the session is waiting for its client to reconnect. */
  get suspended(): boolean {
    return this.isOpen && this.socket === undefined;
  }

  /** The last numbered frame received from the tunnel (what a resume reports back). */
  get lastReceived(): number {
    return this.window?.received ?? 0;
  }

  /** Whether the client announced token refresh (`register.tokenRefresh`). */
  get refreshesToken(): boolean {
    return this.features.tokenRefresh === true;
  }

  /** Whether the local server asked for the caller's identity (`register.forwardIdentity`). */
  get forwardsIdentity(): boolean {
    return this.features.forwardIdentity === true;
  }

  /** The tunnel's own verified identity (its token's principal); undefined when unknown here. */
  get principal(): Principal | undefined {
    return this.identity;
  }

  /** The schedule of the tunnel's token; undefined when it is not followed here (a carried connection, or no token). */
  get tokenExpiry(): TokenExpiry | undefined {
    return this.expiry;
  }

  /**
   * The tunnel authenticated as `principal` (on its upgrade, a resume's upgrade, or a token_refresh):
   * its identity is replaced, and `expiry` (the first time) follows its token; the schedule moves to
   * the new token's `exp`. The schedule stops when the session ends.
   */
  authenticated(principal: Principal, expiry?: TokenExpiry): void {
    if (!this.isOpen) return;
    this.identity = principal;
    if (expiry && expiry !== this.expiry) {
      this.expiry?.stop();
      this.expiry = expiry;
    }
    this.expiry?.watch(principal.expiresAt);
  }

  /** Whether `socket` is the connection now carrying this session (not one it left behind). */
  carriedBy(socket: TunnelSocket): boolean {
    return this.socket === socket;
  }

  isReady(): this is TunnelHandle {
    return this.currentState === 'ready';
  }

  info(): TunnelInfo {
    return {
      id: this.id,
      name: this.name,
      owner: this.owner,
      state: this.currentState,
      server: this.registered && { ...this.registered },
      connectedAt: this.connectedAt,
      lastActivity: this.lastActivityAt,
      messagesIn: this.framesIn,
      messagesOut: this.framesOut,
      bytesIn: this.bytesReceived,
      bytesOut: this.bytesSent,
      pendingCount: this.pending.size,
      suspended: this.suspended,
      access: this.accessRules,
    };
  }

  /** The calls of the last minutes, per interval, with their latency percentiles. */
  callStats(): CallStatsSnapshot {
    return this.stats.snapshot(this.now());
  }

  /**
   * `register`: the session is named and described by `server` (whose name the registry granted).
   * Only once per connection; returns false (changing nothing) when it already registered or closed.
   */
  register(server: RegisteredServer & { name: string }, features: RegisterFeatures = {}): boolean {
    if (this.currentState !== 'connected') return false;
    this.registered = { ...server };
    this.features = { ...features };
    this.currentState = 'registered';
    return true;
  }

  /**
   * Takes what the local server reported in its initialize answer (the gateway's own handshake for
   * a client that registered without capabilities): protocol version, capabilities, server info and
   * instructions replace what was registered. The caller has checked the objects' sizes.
   */
  updateServer(initializeResult: Record<string, unknown>): void {
    const server = this.registered;
    if (!server || this.currentState !== 'registered') return;
    const result = initializeResult;
    if (typeof result.protocolVersion === 'string') server.protocolVersion = result.protocolVersion.slice(0, MAX_PROTOCOL_VERSION_LENGTH);
    if (isObject(result.capabilities)) server.capabilities = result.capabilities;
    if (isObject(result.serverInfo)) server.serverInfo = result.serverInfo;
    if (typeof result.instructions === 'string') server.instructions = result.instructions.slice(0, MAX_INSTRUCTIONS_LENGTH);
  }

  /**
   * The client asked for resumption (`register.resumable`): from now on data frames are numbered and
   * kept until acknowledged, and a dropped connection suspends the session for `limits.graceMs`.
   */
  enableResume(limits: ResumeLimits): void {
    if (this.window || !this.isOpen) return;
    this.window = new ResumeWindow(limits);
    this.graceMs = limits.graceMs;
  }

  /**
   * Takes a numbered data frame's `seq` (and the `ack` it carries): `deliver` means hand its payload
   * on; `duplicate` means it was had already; `gap` means frames were lost (a protocol error).
   */
  arrive(seq: number | undefined, ack: number | undefined): Arrival {
    if (!this.window) return 'deliver';
    if (ack !== undefined) this.window.acknowledge(ack);
    const arrival = seq === undefined ? 'gap' : this.window.receive(seq);
    if (arrival === 'deliver') this.scheduleAck();
    return arrival;
  }

  /** The tunnel acknowledged frames up to `ack` (an `ack` frame). */
  acknowledge(ack: number): void {
    this.window?.acknowledge(ack);
  }

  /**
   * The connection dropped without `unregister`: a resumable session waits for its client for the
   * grace period (callers keep waiting, new calls are kept), then ends as lost. Returns whether it
   * was suspended (false: not resumable, already closed, or more outstanding than can be kept).
   */
  suspend(): boolean {
    if (!this.isOpen || !this.resumable || !this.socket || this.window?.overflowed) return false;
    this.socket = undefined;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const seconds = Math.round(this.graceMs / 1000);
    this.graceTimer = setTimeout(() => this.close(`tunnel lost: no reconnect within ${seconds} s`), this.graceMs);
    this.graceTimer.unref?.();
    this.publish({ type: 'suspended' });
    return true;
  }

  /**
   * The connection `socket` ended for `reason`. Nothing changes when it no longer carries the session
   * (a resume moved it to another); a resumable session that merely lost it (`disconnected`) is
   * suspended; any other is closed. Returns what became of the session.
   */
  connectionEnded(socket: TunnelSocket, reason: string): 'ignored' | 'suspended' | 'closed' {
    if (!this.carriedBy(socket)) return 'ignored';
    if (reason === 'disconnected' && this.suspend()) return 'suspended';
    this.close(reason);
    return 'closed';
  }

  /**
   * The client came back on `socket`, having received up to `peerReceived`: the session carries on
   * there (a connection it still had, half-open, is dropped). Returns the frames the client missed,
   * to send after the acknowledgement of the resume; undefined (nothing changed) when they cannot all
   * be sent.
   */
  resumeOn(socket: TunnelSocket, peerReceived: number): string[] | undefined {
    if (!this.isOpen || !this.window) return undefined;
    const missed = this.window.resendAfter(peerReceived);
    if (!missed) return undefined;
    const previous = this.socket;
    this.socket = socket;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (previous) {
      try {
        previous.terminate?.();
      } catch {
        // Gone already.
      }
    }
    this.publish({ type: 'resumed' });
    return missed;
  }

  /** Sends frames kept from before a resume, as they were first sent. */
  resend(texts: readonly string[]): void {
    for (const text of texts) this.write(text);
  }

  /**
   * Ends a session that only carried a connection until it resumed another one: it leaves the
   * registry, but its connection, now the other session's, stays open.
   */
  handOver(): void {
    if (!this.isOpen) return;
    this.currentState = 'closed';
    this.reasonClosed = 'resumed another session';
    this.socket = undefined;
    this.expiry?.stop();
    this.events.complete();
  }

  /** The registered server is usable (handshake done): MCP doors may now reach it. Returns whether it became ready. */
  markReady(): boolean {
    if (this.currentState !== 'registered') return false;
    this.currentState = 'ready';
    return true;
  }

  /** Counts an SSE stream following the session; the returned function removes it (once). */
  addStreamSubscriber(): () => void {
    this.streamSubscribers++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.streamSubscribers--;
    };
  }

  /** Whether a heartbeat received `now` is answered (at most one reply per HEARTBEAT_REPLY_INTERVAL_MS); records the reply. */
  shouldReplyToHeartbeat(now: number): boolean {
    if (now - this.lastHeartbeatReplyAt < HEARTBEAT_REPLY_INTERVAL_MS) return false;
    this.lastHeartbeatReplyAt = now;
    return true;
  }

  /**
   * Serializes and sends one frame, counting it. A resumable session numbers its data frames and
   * keeps them until acknowledged; while it is suspended they wait to be resent, and other frames are
   * dropped.
   */
  send(frame: GatewayToTunnelFrame): void {
    if (!this.isOpen) throw new CallError('closed', 'The tunnel is closed');
    const numbered = this.window !== undefined && frame.type === 'request';
    if (numbered) this.cancelAck();
    const data = numbered ? this.window!.send(frame) : JSON.stringify(frame);
    this.write(data);
  }

  private write(data: string): void {
    if (!this.socket) return;
    this.socket.send(data);
    const bytes = Buffer.byteLength(data);
    this.framesOut++;
    this.bytesSent += bytes;
    this.meter?.frameOut(bytes);
    this.lastActivityAt = Date.now();
  }

  /** An acknowledgement owed is sent on its own after ACK_DELAY_MS, or at once when `ackEvery` frames are owed. */
  private scheduleAck(): void {
    const window = this.window!;
    if (window.ackDue) return this.sendAck();
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (window.ackOwed) this.sendAck();
    }, ACK_DELAY_MS);
    this.ackTimer.unref?.();
  }

  private sendAck(): void {
    this.cancelAck();
    if (!this.socket || !this.window) return;
    this.write(JSON.stringify({ type: 'ack', ack: this.window.acknowledged() }));
  }

  private cancelAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /**
   * Sends any JSON-RPC message to the local server without waiting (notifications, answers to server
   * requests). Throws CallError (`overloaded`) while the tunnel is not reading what it was sent.
   */
  forward(payload: JsonRpcMessage): void {
    this.admit();
    const params = 'params' in payload ? withoutCallerMeta(payload.params) : undefined;
    this.sendPayload(params === undefined ? payload : { ...payload, params });
  }

  /**
   * forward() for a message nobody waits on (a notification, an answer to the server): a tunnel that
   * closed meanwhile, or is not reading, is ignored. Returns whether the message was sent.
   */
  tryForward(payload: JsonRpcMessage): boolean {
    if (!this.isOpen) return false;
    try {
      this.forward(payload);
      return true;
    } catch {
      // Closed or not reading: the server is gone, or will be dropped, with what it was owed.
      return false;
    }
  }

  /**
   * Sends a request and resolves with its answer, carrying the caller's original id.
   * Rejects with CallError on timeout (after telling the server to cancel), when the tunnel closes or
   * when the caller cancels it; throws CallError (reason `busy`) at once when too many calls are in
   * flight (`overloaded` while the tunnel is not reading), so a caller that does not wait can still report it.
   *
   * With a `caller`, the request's `_meta.progressToken` is replaced by the call's tunnel id (tokens
   * chosen by different callers may collide) and progress goes back to that caller only.
   */
  call(request: JsonRpcRequest, timeoutMs: number, caller?: TunnelCaller): Promise<JsonRpcResponse> {
    if (!this.isOpen) return Promise.reject(new CallError('closed', 'The tunnel is closed'));
    this.admit();
    const progressToken = caller ? progressTokenOf(request.params) : undefined;
    const context: CallContext = caller ? { caller, progressToken } : {};
    const { tunnelId, answer } = this.pending.open(
      request.id,
      timeoutMs,
      (expiredId) => this.cancelRemote(expiredId, 'Request timed out at the gateway'),
      context,
    );
    try {
      const own = progressToken === undefined ? request.params : withProgressToken(request.params, tunnelId);
      const params = this.withCaller(own, caller);
      this.sendPayload({ ...request, id: tunnelId, ...(params === undefined ? {} : { params }) });
    } catch (err) {
      this.pending.drop(tunnelId);
      return Promise.reject(err);
    }
    // Who asked what, for the session's followers (the console's log); nobody follows most sessions.
    if (this.streamSubscribers > 0) this.publish({ type: 'call', payload: request });
    return answer;
  }

  /**
   * Gives up on one call: its caller is rejected with CallError('cancelled') and the server gets
   * notifications/cancelled with the id it knows. Returns whether the call was in flight.
   */
  cancel(tunnelId: string, reason: string): boolean {
    if (!this.pending.fail(tunnelId, new CallError('cancelled', reason))) return false;
    this.cancelRemote(tunnelId, reason);
    return true;
  }

  /**
   * Gives up on every call in flight with `error` (e.g. the gateway is shutting down) and tells the
   * server to cancel each. Returns how many there were.
   */
  abandonCalls(error: CallError): number {
    const calls = this.pending.newestFirst();
    for (const call of calls) {
      if (this.pending.fail(call.tunnelId, error)) this.cancelRemote(call.tunnelId, error.message);
    }
    return calls.length;
  }

  /**
   * Closes the tunnel when it has queued more than its limit for longer than allowed: a peer that
   * stopped reading would otherwise hold that memory until the idle timeout. Returns whether it did.
   */
  closeIfStuck(): boolean {
    const socket = this.socket;
    if (!this.isOpen || !socket || !this.backlog?.isStuck(socket.bufferedAmount ?? 0)) return false;
    this.close('tunnel not reading', 1008);
    // The closing handshake would wait behind the unread bytes; free them now.
    socket.terminate?.();
    return true;
  }

  /** The tunnel id of the call `caller` made with its own id, while in flight. */
  findCall(callerKey: string, callerRequestId: JsonRpcId): string | undefined {
    return this.pending.find((call) => call.context.caller?.key === callerKey && call.callerRequestId === callerRequestId);
  }

  /** The caller with this key among the calls in flight, most recent first. */
  findCaller(callerKey: string): TunnelCaller | undefined {
    return this.pending.newestFirst().find((call) => call.context.caller?.key === callerKey)?.context.caller;
  }

  /** Cancels every call a caller has in flight, e.g. when its MCP session ends. */
  cancelCallsOf(callerKey: string, reason: string): number {
    let cancelled = 0;
    for (const call of this.pending.newestFirst()) {
      if (call.context.caller?.key === callerKey && this.cancel(call.tunnelId, reason)) cancelled++;
    }
    return cancelled;
  }

  /** Calls in flight, most recent first. */
  inFlight(): InFlightCall[] {
    return this.pending.newestFirst();
  }

  /** The call in flight under this tunnel id. */
  inFlightCall(tunnelId: string): InFlightCall | undefined {
    return this.pending.get(tunnelId);
  }

  /** Replaces who answers the server's own requests; `undefined` restores publishing them as events. */
  routeServerRequestsWith(router: ServerRequestRouter | undefined): void {
    this.serverRequestRouter = router ?? publishAsEvent;
  }

  /** Publishes an event to this session's subscribers. */
  publish(event: SessionEvent): void {
    if (this.isOpen || event.type === 'closed') this.events.next(event);
  }

  /** Records an inbound frame's size; the gateway calls this for every frame. */
  recordInbound(bytes: number): void {
    this.framesIn++;
    this.bytesReceived += bytes;
    this.meter?.frameIn(bytes);
    this.lastActivityAt = Date.now();
  }

  /**
   * Routes a JSON-RPC message from the local server: an answer goes to the call waiting for it
   * (and to subscribers with the caller's id); notifications and server-to-client requests become events.
   */
  receive(payload: unknown): InboundResult {
    const kind = classifyJsonRpc(payload);
    if (kind === undefined) return 'invalid';
    const message = payload as JsonRpcMessage;
    if (kind === 'response') {
      const restored = this.pending.settle(message as JsonRpcResponse);
      if (!restored) return 'unmatched';
      this.publish({ type: 'response', payload: restored });
      return 'routed';
    }
    if (kind === 'request') {
      this.serverRequestRouter.route(message as JsonRpcRequest, this);
      return 'routed';
    }
    if (this.deliverProgress(message as JsonRpcNotification)) return 'routed';
    this.publish({ type: kind, payload: message });
    return 'routed';
  }

  /** Ends the session: fails calls in flight at once, emits `closed`, completes the event stream. */
  close(reason: string, code = 1000): void {
    if (!this.isOpen) return;
    this.currentState = 'closed';
    this.reasonClosed = reason;
    this.meter?.tunnelClosed(reason);
    clearTimeout(this.graceTimer);
    this.expiry?.stop();
    this.cancelAck();
    this.pending.failAll(new CallError('closed', `The tunnel closed (${reason})`));
    this.publish({ type: 'closed', reason });
    this.events.complete();
    try {
      this.socket?.close(code, reason.slice(0, 120));
    } catch {
      // The socket may already be gone; the session is closed either way.
    }
  }

  /**
   * The request's params as the local server gets them: whatever a caller put under CALLER_META_KEY
   * is removed (it would pass for the gateway's word); a tunnel that asked for it gets the verified
   * caller there instead. Never the caller's token (the MCP spec forbids token passthrough).
   */
  private withCaller(params: JsonRpcRequest['params'], caller: TunnelCaller | undefined): JsonRpcRequest['params'] {
    const principal = caller?.principal;
    if (!this.forwardsIdentity || !principal) return withoutCallerMeta(params) ?? params;
    if (Array.isArray(params)) return params;
    const identity: CallerIdentity = { user: principal.user, groups: [...(principal.groups ?? [])], via: principal.via ?? 'jwt' };
    const object = params ?? {};
    return { ...object, _meta: { ...(isObject(object._meta) ? object._meta : {}), [CALLER_META_KEY]: identity } };
  }

  /** Progress for a call whose caller asked for it goes to that caller only, with its own token. */
  private deliverProgress(notification: JsonRpcNotification): boolean {
    if (notification.method !== 'notifications/progress') return false;
    const params = notification.params as Record<string, unknown> | undefined;
    const token = params?.progressToken;
    if (typeof token !== 'string') return false;
    const call = this.pending.get(token);
    const caller = call?.context.caller;
    if (!call || !caller || call.context.progressToken === undefined) return false;
    caller.onProgress({ ...notification, params: { ...params, progressToken: call.context.progressToken } }, call.callerRequestId);
    return true;
  }

  private cancelRemote(tunnelId: string, reason: string): void {
    if (!this.isOpen) return;
    // Not subject to the backlog limit: small, and the server needs it to stop working for nobody.
    this.sendPayload({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: tunnelId, reason } });
  }

  private sendPayload(payload: JsonRpcMessage): void {
    this.send({ type: 'request', sessionId: this.id, payload });
  }

  /** Refuses a caller's message while the tunnel has more queued than its limit; a stuck tunnel is closed instead. */
  private admit(): void {
    if (!this.socket) {
      // Suspended: what waits for the client is bounded by the resume buffer.
      if (this.window?.overflowed) throw new CallError('overloaded', RECONNECTING);
      return;
    }
    if (!this.backlog || this.backlog.admits(this.socket.bufferedAmount ?? 0)) return;
    if (this.closeIfStuck()) throw new CallError('closed', `The tunnel closed (${this.reasonClosed})`);
    throw new CallError('overloaded', NOT_READING);
  }
}

function progressTokenOf(params: JsonRpcRequest['params']): string | number | undefined {
  if (!params || Array.isArray(params)) return undefined;
  const meta = params._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const token = (meta as Record<string, unknown>).progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** `params` without a `_meta[CALLER_META_KEY]` (a copy), or undefined when it has none. */
function withoutCallerMeta(params: unknown): Record<string, unknown> | undefined {
  if (!isObject(params) || !isObject(params._meta) || !(CALLER_META_KEY in params._meta)) return undefined;
  const { [CALLER_META_KEY]: _spoofed, ...meta } = params._meta;
  return { ...params, _meta: meta };
}

function withProgressToken(params: JsonRpcRequest['params'], token: string): JsonRpcRequest['params'] {
  const object = params as Record<string, unknown>;
  return { ...object, _meta: { ...(object._meta as Record<string, unknown>), progressToken: token } };
}
