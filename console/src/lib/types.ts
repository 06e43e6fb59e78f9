/** What the gateway's admin API answers, as the console reads it (src/reverse-proxy/admin/dto). */

/** One tunnel session (SessionDto). */
export interface Session {
  session_id: string;
  name?: string;
  user: string | null;
  state: string;
  server_info: ServerInfo;
  connected_at: string;
  last_activity: string;
  message_count: number;
  /** Frames received from the tunnel (newer gateways). */
  messages_in?: number;
  /** Frames sent to the tunnel (newer gateways). */
  messages_out?: number;
  bytes_in: number;
  bytes_out: number;
  bytes_transferred: number;
  pending_requests: number;
  role: 'owner' | 'admin' | 'user';
  access?: { users?: string[]; groups?: string[]; everyone?: boolean };
}

/** What the tunnel registered: the MCP server's identity and capabilities. */
export interface ServerInfo {
  name?: unknown;
  title?: unknown;
  version?: unknown;
  protocolVersion?: unknown;
  instructions?: unknown;
  capabilities?: unknown;
  [key: string]: unknown;
}

/** GET /reverse-proxy/sessions. */
export interface SessionList {
  sessions: Session[];
  total: number;
}

/** One bucket of GET /reverse-proxy/sessions/:id/stats. */
export interface StatsPoint {
  /** Start of the bucket (ISO 8601 or epoch ms). */
  t: string | number;
  calls: number;
  errors: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

/** GET /reverse-proxy/sessions/:id/stats: calls and latency of the last minutes. */
export interface SessionStats {
  session_id: string;
  interval_s: number;
  window_s: number;
  calls_total: number;
  errors_total: number;
  points: StatsPoint[];
}

/** A JSON-RPC response as the request route answers it. */
export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}
