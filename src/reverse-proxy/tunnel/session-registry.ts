import type { Observable } from 'rxjs';
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { TunnelCaller } from './call-context.js';
import type { CallError } from './call-error.js';
import type { SessionHandle, TunnelHandle } from './tunnel-handle.js';
import type { TunnelSession, TunnelSocket } from './tunnel-session.js';
import type { TunnelConnection } from './tunnel-connection.js';
import type { AccessRules } from '../../auth/access-rules.js';

/**
 * Result of claiming a server name for a session: `replaced` is the same owner's session that held
 * it, for the caller to close; `retry` says the refusal is passing (the cluster store is away).
 */
export type NameClaim = { ok: true; replaced?: Pick<SessionHandle, 'close'> } | { ok: false; message: string; retry?: boolean };

/** Whether the registry can take tunnels and calls, for the readiness probe. */
export interface RegistryStatus {
  ready: boolean;
  /** Sessions listed (in cluster mode: every replica's). */
  sessions: number;
  /** Why it is not ready, or which replica this is. */
  detail?: string;
}

/** What handles a tunnel connection carried from another replica (the protocol service). */
export interface CarriedTunnelProtocol {
  handleFrame(connection: TunnelConnection, text: string): void;
  /** A session for a connection that is not registered yet, writing to `socket` (never added to the registry). */
  openSession(owner: string | null, socket: TunnelSocket): TunnelSession;
}

/** A request a server sent to the caller of a call this process relayed to another replica (cluster mode). */
export interface RelayedAsk {
  /** The caller of the relayed call, on this process. */
  caller: TunnelCaller;
  /** The server's request, with the id the server chose. */
  request: JsonRpcRequest;
  /** The caller's own id of the call the request belongs to. */
  relatedRequestId: JsonRpcId;
  /** The tunnel (session id) the request came through. */
  tunnelId: string;
}

/** Answers a RelayedAsk through its caller (the MCP door); the answer goes back to the tunnel through `reply`. */
export type RelayedAskHandler = (ask: RelayedAsk, reply: (answer: JsonRpcResponse) => void) => void;

/**
 * A change in the set of sessions, for doors that keep per-name state (MCP, catalog) and the admin
 * API's session list stream: `added` (connected), `registered` (registration completed: ready, or
 * registered with a failed handshake), `updated` (suspended, resumed, access rules replaced),
 * `removed`. Counters (frames, bytes, calls in flight) are not changes.
 */
export interface RegistryChange {
  type: 'added' | 'registered' | 'updated' | 'removed';
  session: SessionHandle;
}

/**
 * Who is connected. Injected by its abstract class: `InMemorySessionRegistry` by default,
 * `ClusterSessionRegistry` (a Redis directory in front of this replica's sessions) in cluster mode.
 *
 * Two sides: the tunnel endpoint (gateway, protocol service) hands it the `TunnelSession`s of
 * this process (`add`, `claimName`, `markRegistered`); the doors get handles back (`get`, `list`,
 * `byName`: a `SessionHandle` in any state; `readyByName`: a `TunnelHandle`, ready tunnels only),
 * never a `TunnelSession`, so a cluster registry can hand out handles that relay to another replica.
 */
export abstract class SessionRegistry {
  /** Emits every add, register, update and remove (RegistryChange). */
  abstract readonly changes$: Observable<RegistryChange>;
  /** Adds a freshly connected session. */
  abstract add(session: TunnelSession): void;
  /** The session with this id, if connected. */
  abstract get(id: string): SessionHandle | undefined;
  /** Removes a session (and frees its name); returns whether it was there. */
  abstract remove(id: string): boolean;
  /** All sessions. */
  abstract list(): SessionHandle[];
  /** How many sessions this owner (null: anonymous) holds. */
  abstract countByOwner(owner: string | null): number;
  /**
   * Binds a server name to a session. A name held by another owner is refused; the same owner
   * takes it over and gets the session it replaced back, for the caller to close.
   */
  abstract claimName(session: TunnelSession, name: string): Promise<NameClaim>;
  /** The session holding this name, in whatever state. */
  abstract byName(name: string): SessionHandle | undefined;
  /** Announces that a session finished registering. */
  abstract markRegistered(session: TunnelSession): void;
  /** Announces that a session lost its connection and waits for a resume (the cluster registry tells the others at once). */
  markSuspended(session: TunnelSession): void {
    void session;
  }

  /** This process's own tunnels. */
  abstract local(): TunnelSession[];

  /**
   * Replaces who besides its owner may use a session's server (the decision, owner or admin, was made
   * by the caller); false when the handle cannot take rules. The cluster registry also tells the others.
   */
  share(session: SessionHandle, rules: AccessRules): boolean {
    if (!session.share) return false;
    session.share(rules);
    return true;
  }

  /** How many of this process's sessions of this owner wait for a resume (the connection dropped, the grace runs). */
  suspendedByOwner(owner: string | null): number {
    let count = 0;
    for (const session of this.local()) if (session.owner === owner && session.suspended) count++;
    return count;
  }

  /** The tunnel serving this name, if it finished registering (handshake done) and is open. */
  readyByName(name: string): TunnelHandle | undefined {
    const session = this.byName(name);
    return session?.isReady() ? session : undefined;
  }

  /** Calls this process waits on: on its own tunnels, and (cluster mode) those it relayed to other replicas. */
  callsInFlight(): number {
    let count = 0;
    for (const session of this.local()) count += session.pendingCount;
    return count;
  }

  /** Fails every call this process waits on with `error` (the gateway drains); returns how many. */
  abandonCalls(error: CallError): number {
    let count = 0;
    for (const session of this.local()) count += session.abandonCalls(error);
    return count;
  }

  /** Whether tunnels and calls can be taken. */
  status(): RegistryStatus {
    return { ready: true, sessions: this.list().length };
  }

  /** The replica holding this tunnel when it is another one (cluster mode); undefined for this process's own. */
  remoteReplicaOf(handle: SessionHandle): string | undefined {
    void handle;
    return undefined;
  }

  /** Whether `replica` is a live replica of the cluster (this one included); false in memory. */
  isLiveReplica(replica: string): boolean {
    void replica;
    return false;
  }

  /**
   * Cluster mode: a resume (`register` frame `text`) for a session of replica `home` arrived on this
   * replica's `connection`: carry the connection to that replica, where the session lives. False
   * (nothing done) when it cannot be reached; the resume is then refused here.
   */
  resumeElsewhere(connection: TunnelConnection, home: string, text: string): boolean {
    void [connection, home, text];
    return false;
  }

  /**
   * Cluster mode: who handles the frames of connections carried here from other replicas (the
   * protocol service), and how it opens the session such a connection starts with.
   */
  serveCarriedTunnelsWith(protocol: CarriedTunnelProtocol): void {
    void protocol;
  }

  /** Installs who answers server requests for callers whose calls this process relayed (cluster mode; else unused). */
  handleRelayedAsksWith(handler: RelayedAskHandler | undefined): void {
    void handler;
  }
}
