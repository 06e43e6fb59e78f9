import type { Observable } from 'rxjs';
import type { AccessRules } from '../../auth/access-rules.js';
import type { RegisteredServer } from '../../protocol/envelopes.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { TunnelCaller } from './call-context.js';
import type { CallError } from './call-error.js';
import type { CallStatsSnapshot } from './call-stats.js';
import type { ServerRequestRouter } from './server-request-router.js';
import type { SessionEvent } from './session-event.js';

/** connected (no `register` yet), registered (named; handshake failed or under way), ready (usable by MCP clients), closed. */
export type SessionState = 'connected' | 'registered' | 'ready' | 'closed';

/** A tunnel session as the admin API describes it: a snapshot. */
export interface TunnelInfo {
  id: string;
  name: string | undefined;
  owner: string | null;
  state: SessionState;
  /** What the tunnel registered (a copy); undefined before `register`. */
  server: RegisteredServer | undefined;
  connectedAt: Date;
  /** Last frame sent or received (epoch ms). */
  lastActivity: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Calls sent down the tunnel still waiting for their answer. */
  pendingCount: number;
  /** Its connection dropped and it waits for the client to resume (resumable tunnels only). */
  suspended: boolean;
  /** Who besides the owner may use it; absent where unknown (another replica's session): only the owner. */
  access?: AccessRules;
}

/**
 * What a door may do with a tunnel session in any state: the admin REST API and its SSE stream
 * (which also reach sessions that never finished registering). `TunnelSession` is the in-process
 * implementation; in cluster mode `RemoteTunnel` relays to the replica holding the tunnel.
 */
export interface SessionHandle {
  readonly id: string;
  /** Owner key of the principal that opened the tunnel; null when anonymous. */
  readonly owner: string | null;
  /** The registered server name; undefined before `register`. */
  readonly name: string | undefined;
  /** What the tunnel registered; undefined before `register`. */
  readonly server: Readonly<RegisteredServer> | undefined;
  readonly connectedAt: Date;
  readonly isOpen: boolean;
  /** Why the session closed, once it has. */
  readonly closeReason: string | undefined;
  /** Calls in flight on the tunnel. */
  readonly pendingCount: number;
  /**
   * Who besides the owner may use the server (sessionAccess() reads it). Optional: a handle that does
   * not know (another replica's, in cluster mode) is treated as only the owner's.
   */
  readonly access?: AccessRules;
  /** Hot stream of the session's events; completes after `closed`. */
  readonly events$: Observable<SessionEvent>;
  /** Its notifications and `closed` only: what the MCP fan-out follows (in cluster mode, cheaper to relay than every answer). */
  readonly notifications$: Observable<SessionEvent>;

  /** Whether the session finished registering (handshake done) and is open: it can then be used as a TunnelHandle. */
  isReady(): this is TunnelHandle;
  /** Counters and description, for the admin API. */
  info(): TunnelInfo;
  /**
   * The calls of the last minutes, per interval, with latency percentiles: known only where the tunnel
   * is (absent on another replica's session, whose replica answers it).
   */
  callStats?(): CallStatsSnapshot;

  /**
   * Sends a request and resolves with its answer, carrying the caller's own id; rejects (or throws
   * at once: busy, overloaded) with CallError. See TunnelSession.call.
   */
  call(request: JsonRpcRequest, timeoutMs: number, caller?: TunnelCaller): Promise<JsonRpcResponse>;
  /** Sends any other JSON-RPC message; throws CallError when the tunnel is closed or not reading. */
  forward(payload: JsonRpcMessage): void;
  /** forward() for a message nobody waits on: a closed (or not reading) tunnel is ignored. Returns whether it was sent. */
  tryForward(payload: JsonRpcMessage): boolean;
  /** Publishes an event to the session's followers (e.g. a REST caller's progress). */
  publish(event: SessionEvent): void;

  /** Gives up on one call (its caller gets CallError('cancelled'), the server notifications/cancelled). */
  cancel(tunnelId: string, reason: string): boolean;
  /** Gives up on every call a caller has in flight; returns how many. */
  cancelCallsOf(callerKey: string, reason: string): number;
  /** Gives up on every call in flight with `error` (the gateway is shutting down); returns how many. */
  abandonCalls(error: CallError): number;
  /** The tunnel id of the call `callerKey` made with its own id, while in flight. */
  findCall(callerKey: string, callerRequestId: JsonRpcId): string | undefined;
  /** The caller with this key among the calls in flight (most recent first). */
  findCaller(callerKey: string): TunnelCaller | undefined;

  /** Counts an SSE stream following the session (server requests are published as events only while one does); returns its removal. */
  addStreamSubscriber(): () => void;
  /** Replaces who answers the server's own requests; `undefined` restores publishing them as events. */
  routeServerRequestsWith(router: ServerRequestRouter | undefined): void;

  /** Replaces who besides the owner may use the server; absent where the rules cannot be changed from here (another replica's session). */
  share?(rules: AccessRules): void;

  /** Ends the session: calls in flight fail at once, `closed` is published, the tunnel is disconnected (with `code`, default 1000). */
  close(reason: string, code?: number): void;
}

/**
 * A tunnel that finished registering: what the MCP doors (and the catalog) use. The registry hands
 * these out (`readyByName`), so a door never meets a tunnel without its server description.
 */
export interface TunnelHandle extends SessionHandle {
  readonly name: string;
  readonly server: Readonly<RegisteredServer>;
}
