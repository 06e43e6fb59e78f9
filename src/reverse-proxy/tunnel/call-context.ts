import type { Principal } from '../../auth/principal.js';
import type { JsonRpcId, JsonRpcNotification } from '../../protocol/json-rpc.js';

/** Who a caller acts for, as far as reaching a tunnel goes; `via` and `groups` also go to a tunnel that asked for the caller's identity. */
export type CallerPrincipal = Pick<Principal, 'user' | 'isAdmin'> & Partial<Pick<Principal, 'via' | 'groups'>>;

/**
 * A caller that sends calls down a tunnel on behalf of a peer: an MCP client session, a stateless
 * MCP request, or a user of the REST API (RestCaller). Calls without one (the gateway's own) keep
 * the plain behaviour: no token rewriting, progress as events.
 */
export interface TunnelCaller {
  /** Stable key of the caller; lets a door find or cancel all of its calls. */
  readonly key: string;
  /** Receives notifications/progress for one of its calls, with its own progress token restored. */
  onProgress(notification: JsonRpcNotification, callerRequestId: JsonRpcId): void;
  /** Who it acts for; a replica holding the tunnel checks it again for a call relayed to it (absent: the gateway's own call). */
  readonly principal?: CallerPrincipal;
  /** Whether it can answer this server-to-client request (sampling, elicitation, roots, ping); absent: none. */
  canAnswer?(method: string): boolean;
}

/** What the correlation table remembers about a call besides its ids. */
export interface CallContext {
  caller?: TunnelCaller;
  /** The caller's own progress token; the server was given the call's tunnel id instead. */
  progressToken?: string | number;
  /** For requests the gateway relays to a client: the tunnel session that sent it. */
  origin?: string;
  /** When the request was sent (the call stats' clock, epoch ms); set by a table that records its calls. */
  sentAt?: number;
}

/** One call in flight, as seen by routers choosing who should answer a server-to-client request. */
export interface InFlightCall {
  tunnelId: string;
  /** The id the caller chose. */
  callerRequestId: JsonRpcId;
  context: CallContext;
}
