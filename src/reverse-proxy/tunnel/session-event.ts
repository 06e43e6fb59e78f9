import type { JsonRpcMessage } from '../../protocol/json-rpc.js';

/** What happens on a tunnel session, as seen by its SSE subscribers and other doors. */
export type SessionEvent =
  | { type: 'response' | 'notification' | 'request'; payload: JsonRpcMessage }
  | { type: 'closed'; reason: string }
  /** A resumable tunnel's connection dropped; its session waits for the client to come back (docs/protocol.md). */
  | { type: 'suspended' }
  /** Its client came back: the session carries on. */
  | { type: 'resumed' };
