import type { JsonRpcMessage } from '../../protocol/json-rpc.js';

/** What happens on a tunnel session, as seen by its SSE subscribers and other doors. */
export type SessionEvent = { type: 'response' | 'notification' | 'request'; payload: JsonRpcMessage } | { type: 'closed'; reason: string };
