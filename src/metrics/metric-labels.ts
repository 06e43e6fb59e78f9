/**
 * Every label value the gateway's metrics can carry. Each label is a closed list fixed here, never
 * text a peer chose (no session id, user, server name, method or error message), so no peer can
 * grow the number of series: what falls outside a list is counted under its catch-all value.
 */

/** Where a call entered the gateway: the admin REST API, an MCP Streamable HTTP client, a legacy HTTP+SSE MCP client. */
export const CALL_DOORS = ['rest', 'mcp', 'sse'] as const;
export type CallDoor = (typeof CALL_DOORS)[number];

/**
 * How a call through a tunnel ended: `ok` (a result), `error` (the server answered with a JSON-RPC
 * error), else why it got no answer (CallError reasons, reverse-proxy/tunnel/call-error.ts), and
 * `internal` for anything else.
 */
export const CALL_OUTCOMES = [
  'ok',
  'error',
  'timeout',
  'closed',
  'cancelled',
  'busy',
  'overloaded',
  'shutdown',
  'unreachable',
  'internal',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

const FAILURE_OUTCOMES: ReadonlySet<string> = new Set(CALL_OUTCOMES.filter((o) => o !== 'ok' && o !== 'error'));

/** The outcome of a call that threw or rejected with `err`: a CallError's reason, else `internal`. */
export function failureOutcomeOf(err: unknown): CallOutcome {
  const reason = (err as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' && FAILURE_OUTCOMES.has(reason) ? (reason as CallOutcome) : 'internal';
}

/** What became of a tunnel's `register`: a new session, a refused name, a resumed session, a refused resume. */
export const REGISTRATION_RESULTS = ['registered', 'refused', 'resumed', 'resume_refused'] as const;
export type RegistrationResult = (typeof REGISTRATION_RESULTS)[number];

/** Why an HTTP upgrade was refused: 401, 429 (the user's tunnel limit), 503 while draining, 404 (not the tunnel path), 500. */
export const UPGRADE_REFUSALS = ['unauthenticated', 'session_limit', 'draining', 'not_found', 'error'] as const;
export type UpgradeRefusal = (typeof UPGRADE_REFUSALS)[number];

/** Why a tunnel session ended. */
export const DISCONNECT_REASONS = [
  'connection_lost',
  'resume_expired',
  'unregistered',
  'replaced',
  'admin',
  'not_reading',
  'frame_too_large',
  'protocol_error',
  'name_refused',
  'cluster_unavailable',
  'shutdown',
  'carried',
  'other',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

/**
 * The reasons the tunnel endpoint closes sessions with (`TunnelSession.close(reason)`, chosen by the
 * gateway, never by a peer), by label. A reason missing here is counted as `other`.
 */
const DISCONNECT_REASON_OF: ReadonlyMap<string, DisconnectReason> = new Map([
  ['disconnected', 'connection_lost'],
  ['unregistered', 'unregistered'],
  ['replaced', 'replaced'],
  ['disconnected by API', 'admin'],
  ['tunnel not reading', 'not_reading'],
  ['frame too large', 'frame_too_large'],
  ['protocol error', 'protocol_error'],
  ['name in use', 'name_refused'],
  ['name taken while cut off from the cluster', 'name_refused'],
  ['cluster store unavailable', 'cluster_unavailable'],
  ['gateway shutting down', 'shutdown'],
  ['carried connection ended', 'carried'],
]);

/** The label of a session's close reason. */
export function disconnectReasonOf(reason: string): DisconnectReason {
  // The one reason with a number in it: "tunnel lost: no reconnect within 30 s".
  if (reason.startsWith('tunnel lost')) return 'resume_expired';
  return DISCONNECT_REASON_OF.get(reason) ?? 'other';
}

/** States a tunnel held by this process is counted in; `suspended`: waiting for its client to resume. */
export const TUNNEL_STATES = ['connected', 'registered', 'ready', 'suspended'] as const;
export type TunnelState = (typeof TUNNEL_STATES)[number];

/** MCP client session transports, as labels. */
export const MCP_TRANSPORTS = ['streamable_http', 'sse'] as const;
export type McpTransport = (typeof MCP_TRANSPORTS)[number];
