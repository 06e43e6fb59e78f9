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
  /** Carry `resumed` from now on; the session the connection was opened with is handed over. */
  adopt(resumed: TunnelSession): void;
  /** Drops the connection without a closing handshake (a resumable session is then suspended). */
  drop(): void;
}
