import type { Observable } from 'rxjs';
import type { SessionHandle, TunnelHandle } from './tunnel-handle.js';
import type { TunnelSession } from './tunnel-session.js';

/** Result of claiming a server name for a session. */
export type NameClaim = { ok: true; replaced?: TunnelSession } | { ok: false; message: string };

/** A change in the set of sessions, for doors that keep per-name state (MCP, catalog). */
export interface RegistryChange {
  type: 'added' | 'registered' | 'removed';
  session: SessionHandle;
}

/**
 * Who is connected. Injected by its abstract class so a cluster implementation (a Redis
 * directory in front of this replica's sessions) can replace the in-memory one.
 *
 * Two sides: the tunnel endpoint (gateway, protocol service) hands it the `TunnelSession`s of
 * this process (`add`, `claimName`, `markRegistered`); the doors get handles back (`get`, `list`,
 * `byName`: a `SessionHandle` in any state; `readyByName`: a `TunnelHandle`, ready tunnels only),
 * never a `TunnelSession`, so a cluster registry can hand out handles that relay to another replica.
 */
export abstract class SessionRegistry {
  /** Emits every add, register and remove. */
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
  abstract claimName(session: TunnelSession, name: string): NameClaim;
  /** The session holding this name, in whatever state. */
  abstract byName(name: string): SessionHandle | undefined;
  /** Announces that a session finished registering. */
  abstract markRegistered(session: TunnelSession): void;

  /** The tunnel serving this name, if it finished registering (handshake done) and is open. */
  readyByName(name: string): TunnelHandle | undefined {
    const session = this.byName(name);
    return session?.isReady() ? session : undefined;
  }
}
