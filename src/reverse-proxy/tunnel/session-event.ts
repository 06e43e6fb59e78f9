import type { JsonRpcMessage } from '../../protocol/json-rpc.js';

/** What happens on a tunnel session, as seen by its SSE subscribers and other doors. */
export type SessionEvent =
  /**
   * `call`: a request a caller sent down the tunnel, as the caller sent it (its own id), published only
   * while an SSE stream follows the session; the others come from the server.
   */
  | { type: 'call' | 'response' | 'notification' | 'request'; payload: JsonRpcMessage }
  | { type: 'closed'; reason: string }
  /** A resumable tunnel's connection dropped; its session waits for the client to come back (docs/protocol.md). */
  | { type: 'suspended' }
  /** Its client came back: the session carries on. */
  | { type: 'resumed' };
