import { JsonRpcErrorCode } from '../../protocol/json-rpc.js';

/** What callers and new tunnels are told while the gateway drains. */
export const SHUTTING_DOWN = 'The gateway is shutting down';

export type CallFailure = 'timeout' | 'closed' | 'busy' | 'cancelled' | 'overloaded' | 'shutdown' | 'unreachable';

/**
 * Why a call through a tunnel got no answer. The message is safe to show to callers. `overloaded`: the
 * tunnel is not reading what it is sent; `shutdown`: the gateway is draining; `unreachable`: the
 * replica holding the tunnel cannot be reached (cluster mode).
 */
export class CallError extends Error {
  constructor(
    readonly reason: CallFailure,
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

/** What a caller is told for one reason a call got no answer, on each door. */
export interface CallFailureAnswer {
  /** The REST door's status (`HttpExceptionFilter` answers a thrown CallError with it). */
  readonly httpStatus: number;
  /** The JSON-RPC error code of the session-based MCP revisions (legacy SSE, Streamable HTTP 2025-03-26 to 2025-11-25). */
  readonly jsonRpcCode: number;
  /** The code, and `data`, a client of the stateless 2026-07-28 revision gets. */
  readonly stateless: { readonly code: number; readonly data?: Readonly<Record<string, unknown>> };
}

/**
 * The 2026-07-28 revision gives -32002 to "resource not found" (the SDK rewrites it to -32602 on the
 * wire), so a server that is not connected is reported to stateless clients as -32000, with the
 * reason in `data`; timeouts (-32001) and a busy tunnel (-32003) keep the gateway's codes.
 */
const STATELESS_NOT_CONNECTED = { code: -32000, data: Object.freeze({ reason: 'server-not-connected' }) } as const;

/**
 * The one table of what a failed tunnel call becomes, for every door: the REST door's HTTP status
 * and the MCP doors' JSON-RPC codes. A server that is not connected at all is answered like `closed`.
 */
export const CALL_FAILURES: Readonly<Record<CallFailure, CallFailureAnswer>> = {
  timeout: {
    httpStatus: 504,
    jsonRpcCode: JsonRpcErrorCode.RequestTimeout,
    stateless: { code: JsonRpcErrorCode.RequestTimeout },
  },
  closed: { httpStatus: 502, jsonRpcCode: JsonRpcErrorCode.TunnelClosed, stateless: STATELESS_NOT_CONNECTED },
  // The caller gave up on the call (the MCP doors send no answer to a cancelled request at all).
  cancelled: { httpStatus: 502, jsonRpcCode: JsonRpcErrorCode.TunnelClosed, stateless: STATELESS_NOT_CONNECTED },
  busy: { httpStatus: 503, jsonRpcCode: JsonRpcErrorCode.TunnelBusy, stateless: { code: JsonRpcErrorCode.TunnelBusy } },
  // Like busy: the client may try again later.
  overloaded: { httpStatus: 503, jsonRpcCode: JsonRpcErrorCode.TunnelBusy, stateless: { code: JsonRpcErrorCode.TunnelBusy } },
  shutdown: { httpStatus: 503, jsonRpcCode: JsonRpcErrorCode.TunnelClosed, stateless: STATELESS_NOT_CONNECTED },
  // Cluster mode: the replica holding the tunnel cannot be reached (Redis is away); try again later.
  unreachable: { httpStatus: 503, jsonRpcCode: JsonRpcErrorCode.TunnelBusy, stateless: { code: JsonRpcErrorCode.TunnelBusy } },
};

/** What a call through another replica fails with while the cluster's Redis cannot be reached. */
export const CLUSTER_UNREACHABLE =
  'The gateway replica holding this tunnel cannot be reached right now (cluster store unavailable); try again shortly';
