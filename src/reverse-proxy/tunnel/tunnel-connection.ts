import type { TunnelSession, TunnelSocket } from './tunnel-session.js';

/**
 * One WebSocket connection of the tunnel endpoint, as the protocol service sees it: the session it
 * carries, which a resume changes (the connection then carries the session it resumed).
 */
export interface TunnelConnection {
  /** The session this connection carries now. */
  readonly session: TunnelSession;
  /** The connection's frame writer. */
  readonly socket: TunnelSocket;
  /** Where clients reach the gateway, as its upgrade request showed it (HostAllowList.publicBaseUrl); undefined when unknown. */
  readonly publicBaseUrl?: string;
  /** Carry `resumed` from now on; the session the connection was opened with is handed over. */
  adopt(resumed: TunnelSession): void;
  /** Drops the connection without a closing handshake (a resumable session is then suspended). */
  drop(): void;
  /**
   * From now on the connection's frames and its end go to `route` instead of the protocol service
   * (cluster mode: the session it resumes lives on another replica); `undefined` takes them back.
   */
  divert(route: DivertedRoute | undefined): void;
}

/** Where a diverted connection's traffic goes. */
export interface DivertedRoute {
  frame(text: string): void;
  closed(): void;
}
