/**
 * The tunnel wire protocol: JSON text frames exchanged over the WebSocket between a tunnel
 * client and the gateway. Field names follow the reference gateway so its clients work unchanged.
 * Pure types and parsers: no Nest, no I/O.
 */
import { isObject, type JsonRpcMessage } from './json-rpc.js';
import { parseShareRules, type ShareRules } from './share.js';

/** Path the gateway serves the tunnel on; `/reverse-proxy` is accepted as an alias. */
export const TUNNEL_PATH = '/reverse-proxy/ws';
export const TUNNEL_PATH_ALIAS = '/reverse-proxy';

/** WebSocket close codes gateway and client agree on by name (besides 1000, 1008 and 1009, used as plain numbers). */
export const TunnelCloseCode = {
  /** Another tunnel of the same owner registered this tunnel's name and took it over. */
  Replaced: 4000,
  /** Service Restart: this gateway is going away on purpose; reconnect at once (the ingress picks a replica that is up). */
  Restarting: 1012,
} as const;

/** The reason of the 1008 close of a tunnel whose token expired without a fresh one (docs/protocol.md, "Token expiry"). */
export const TOKEN_EXPIRED_REASON = 'token expired';

/** What a tunnel tells the gateway about the server behind it. */
export interface RegisteredServer {
  name: string;
  title?: string;
  description?: string;
  version?: string;
  protocolVersion?: string;
  capabilities?: Record<string, unknown>;
  instructions?: string;
  /** Transport of the local server (`stdio`, `streamable-http`, `sse`); informational. */
  protocol?: string;
  /** serverInfo as the local server reported it in its initialize result. */
  serverInfo?: Record<string, unknown>;
}

export type RegisterStatus = 'success' | 'error';

/** Limits on the resumption fields (docs/protocol.md, "Resumption"). */
export const RESUME_LIMITS = {
  /** Characters of a resume token (the gateway's are 43: 32 bytes in base64url). */
  token: 128,
} as const;

/** Limits on the token-refresh frames (docs/protocol.md, "Token expiry"). */
export const TOKEN_REFRESH_LIMITS = {
  /** Characters of the token a `token_refresh` carries (a JWT with many groups stays well below). */
  token: 16384,
} as const;

/**
 * Key under `params._meta` of each request the gateway sends down a tunnel that asked for it
 * (`register.forwardIdentity`): who is calling, as the gateway verified it. Never the caller's token.
 */
export const CALLER_META_KEY = 'io.mcp-gateway/caller';

/** The value under CALLER_META_KEY: the verified caller. */
export interface CallerIdentity {
  /** The caller's owner key (`sub`, else `email`, or the trusted proxy user); null when anonymous. */
  user: string | null;
  /** The caller's groups; empty when the token names none. */
  groups: string[];
  /** How the caller was authenticated. */
  via: 'jwt' | 'proxy' | 'anonymous';
}

/** `register.resume`: the session to carry on, and the last numbered frame the client received from it. */
export interface ResumeRequest {
  token: string;
  lastReceived: number;
}

/**
 * Numbering of a data frame (`request`, `response`, `notification`) of a resumable session: its
 * own `seq` and the highest `seq` the sender received in order. Absent in the base protocol.
 */
export interface Numbered {
  seq?: number;
  ack?: number;
}

// ---- tunnel -> gateway ----
export interface RegisterFrame {
  type: 'register';
  server: RegisteredServer;
  /** Sent by older clients; ignored, the gateway chooses the id. */
  sessionId?: string;
  /** The client asks for a resumable session. */
  resumable?: boolean;
  /** The client carries on a suspended session instead of starting one. */
  resume?: ResumeRequest;
  /** The client takes `token_expiring` and answers with `token_refresh` (docs/protocol.md, "Token expiry"). */
  tokenRefresh?: boolean;
  /** The local server wants the verified caller under `params._meta[CALLER_META_KEY]` of each request. */
  forwardIdentity?: boolean;
  /** Who besides the owner may use the server (share.ts; `--share`); absent: only the owner. Ignored on a resume. */
  share?: ShareRules;
}
/** Tunnel -> gateway: a fresh token for the open connection, answering `token_expiring` (or ahead of it). */
export interface TokenRefreshFrame {
  type: 'token_refresh';
  token: string;
}
export interface UnregisterFrame {
  type: 'unregister';
  sessionId?: string;
}
export interface HeartbeatFrame {
  type: 'heartbeat';
  sessionId?: string;
  timestamp?: string;
}
/** A JSON-RPC message from the local server: answers, notifications and server-to-client requests. */
export interface ResponseFrame extends Numbered {
  type: 'response';
  sessionId?: string;
  payload: JsonRpcMessage;
}
export interface NotificationFrame extends Numbered {
  type: 'notification';
  sessionId?: string;
  payload: JsonRpcMessage;
}
/**
 * Gateway -> tunnel: any JSON-RPC message for the local server.
 * Tunnel -> gateway: a server-to-client request (sampling, elicitation, roots, ping).
 */
export interface RequestFrame extends Numbered {
  type: 'request';
  sessionId?: string;
  payload: JsonRpcMessage;
  authentication?: string;
  authType?: string;
}
export interface ErrorFrame {
  type: 'error';
  sessionId?: string;
  message: string;
}
/** Both ways: acknowledges numbered frames up to `ack` when no data frame carries the acknowledgement. */
export interface AckFrame {
  type: 'ack';
  ack: number;
}

// ---- gateway -> tunnel ----
export interface RegisterAckFrame {
  type: 'register_ack';
  sessionId: string;
  status: RegisterStatus;
  message?: string;
  /** The token that resumes this session once (a new one with every register_ack of it). */
  resumeToken?: string;
  /** Answer to `register.resume`: the session carries on. */
  resumed?: boolean;
  /** With `resumed`: the last numbered frame the gateway received from the client. */
  lastReceived?: number;
  /** How long the gateway keeps the session through a dropped connection. */
  resumeGraceMs?: number;
  /** Answer to `register.resume`: the session cannot be resumed; register afresh on this connection. */
  resumeRefused?: boolean;
  /**
   * With success: the URL MCP clients use for this tunnel (`<public URL>/servers/<name>/mcp`), when the
   * gateway knows its public URL (PUBLIC_URL, or a `Host` that names it); absent otherwise.
   */
  mcpUrl?: string;
}
export interface RegisterCompleteFrame {
  type: 'register_complete';
  sessionId: string;
  status: RegisterStatus;
  message?: string;
}
export interface HeartbeatReplyFrame {
  type: 'heartbeat';
  sessionId: string;
  timestamp: string;
}
/** Gateway -> tunnel (clients that sent `register.tokenRefresh`): the tunnel's token expires at `expiresAt` (ms since the epoch). */
export interface TokenExpiringFrame {
  type: 'token_expiring';
  expiresAt: number;
}
/** Gateway -> tunnel: a `token_refresh` was accepted; the tunnel now expires at `expiresAt` (absent: the token has no `exp`). */
export interface TokenRefreshedFrame {
  type: 'token_refreshed';
  expiresAt?: number;
}

/** The frames that carry JSON-RPC; numbered in a resumable session. */
export type DataFrame = RequestFrame | ResponseFrame | NotificationFrame;

export type TunnelToGatewayFrame =
  | RegisterFrame
  | UnregisterFrame
  | HeartbeatFrame
  | ResponseFrame
  | NotificationFrame
  | RequestFrame
  | ErrorFrame
  | AckFrame
  | TokenRefreshFrame;

export type GatewayToTunnelFrame =
  | RegisterAckFrame
  | RegisterCompleteFrame
  | HeartbeatReplyFrame
  | RequestFrame
  | ErrorFrame
  | AckFrame
  | TokenExpiringFrame
  | TokenRefreshedFrame;

/** What a tunnel client accepts from a gateway: a `response` envelope is taken like a `request` (older gateways send one). */
export type ParsedGatewayFrame = GatewayToTunnelFrame | ResponseFrame;

/** Limits on what a `register.server` may carry. */
export const SERVER_INFO_LIMITS = {
  name: 128,
  title: 256,
  description: 4096,
  version: 64,
  protocolVersion: 32,
  protocol: 32,
  instructions: 16384,
  /** Serialized size of capabilities or serverInfo. */
  objectBytes: 16384,
} as const;

/** Names usable in a URL path segment: letters, digits, dot, dash, underscore. */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Result of parsing a frame: the frame, or a message naming the problem. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

function optionalString(
  source: Record<string, unknown>,
  key: keyof typeof SERVER_INFO_LIMITS,
  into: Record<string, unknown>,
): string | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return `server.${key} must be a string`;
  if (value.length > SERVER_INFO_LIMITS[key]) return `server.${key} is longer than ${SERVER_INFO_LIMITS[key]} characters`;
  into[key] = value;
  return undefined;
}

function optionalObject(source: Record<string, unknown>, key: string, into: Record<string, unknown>): string | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return `server.${key} must be an object`;
  if (Buffer.byteLength(JSON.stringify(value)) > SERVER_INFO_LIMITS.objectBytes) {
    return `server.${key} is larger than ${SERVER_INFO_LIMITS.objectBytes} bytes`;
  }
  into[key] = value;
  return undefined;
}

/**
 * Validates `register.server`, keeping only known fields.
 * A missing name is allowed for older clients and filled by the caller.
 */
export function parseRegisteredServer(raw: unknown): ParseResult<RegisteredServer> {
  if (!isObject(raw)) return fail('register.server must be an object');
  const out: Record<string, unknown> = {};
  for (const key of ['name', 'title', 'description', 'version', 'protocolVersion', 'protocol', 'instructions'] as const) {
    const problem = optionalString(raw, key, out);
    if (problem) return fail(problem);
  }
  for (const key of ['capabilities', 'serverInfo']) {
    const problem = optionalObject(raw, key, out);
    if (problem) return fail(problem);
  }
  if (typeof out.name === 'string' && !SERVER_NAME_PATTERN.test(out.name)) {
    return fail('server.name may hold only letters, digits, ".", "-" and "_", and must start with a letter or digit');
  }
  return { ok: true, value: out as unknown as RegisteredServer };
}

const PAYLOAD_TYPES = new Set(['response', 'notification', 'request']);

/** Whether `value` can be a `seq`, an `ack` or a `lastReceived`: a whole number from 0 up. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Copies `seq` and `ack` of a data frame when present; an error names a bad one. */
function numbering(data: Record<string, unknown>, into: Numbered): string | undefined {
  for (const key of ['seq', 'ack'] as const) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    if (!isCount(value)) return `"${String(data.type)}" frame: ${key} must be a non-negative integer`;
    into[key] = value;
  }
  return undefined;
}

/** A data frame (`request`, `response`, `notification`) with its payload and numbering. */
function payloadFrame(type: string, data: Record<string, unknown>): ParseResult<RequestFrame | ResponseFrame | NotificationFrame> {
  if (!isObject(data.payload)) return fail(`"${type}" frame needs an object "payload"`);
  const frame: RequestFrame | ResponseFrame | NotificationFrame = {
    type: type as 'request',
    payload: data.payload as unknown as JsonRpcMessage,
  };
  const problem = numbering(data, frame);
  if (problem) return fail(problem);
  return { ok: true, value: frame };
}

function ackFrame(data: Record<string, unknown>): ParseResult<AckFrame> {
  if (!isCount(data.ack)) return fail('"ack" frame needs a non-negative integer "ack"');
  return { ok: true, value: { type: 'ack', ack: data.ack } };
}

/** `register.resumable` and `register.resume`, validated into `frame`; an error names the bad field. */
function resumeFields(data: Record<string, unknown>, frame: RegisterFrame): string | undefined {
  if (data.resumable !== undefined && data.resumable !== null) {
    if (typeof data.resumable !== 'boolean') return 'register.resumable must be true or false';
    frame.resumable = data.resumable;
  }
  const resume = data.resume;
  if (resume === undefined || resume === null) return undefined;
  if (!isObject(resume)) return 'register.resume must be an object';
  if (typeof resume.token !== 'string' || resume.token.length > RESUME_LIMITS.token) {
    return `register.resume.token must be a string of at most ${RESUME_LIMITS.token} characters`;
  }
  if (!isCount(resume.lastReceived)) return 'register.resume.lastReceived must be a non-negative integer';
  frame.resume = { token: resume.token, lastReceived: resume.lastReceived };
  return undefined;
}

/** `register.tokenRefresh` and `register.forwardIdentity`, validated into `frame`; an error names the bad field. */
function featureFields(data: Record<string, unknown>, frame: RegisterFrame): string | undefined {
  for (const key of ['tokenRefresh', 'forwardIdentity'] as const) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') return `register.${key} must be true or false`;
    frame[key] = value;
  }
  return undefined;
}

function tokenRefreshFrame(data: Record<string, unknown>): ParseResult<TokenRefreshFrame> {
  const token = data.token;
  if (typeof token !== 'string' || token === '' || token.length > TOKEN_REFRESH_LIMITS.token) {
    return fail(`"token_refresh" frame needs a "token" of 1 to ${TOKEN_REFRESH_LIMITS.token} characters`);
  }
  return { ok: true, value: { type: 'token_refresh', token } };
}

/** `register.share`, validated and bounded into `frame`; an error names the bad field. */
function shareField(data: Record<string, unknown>, frame: RegisterFrame): string | undefined {
  if (data.share === undefined || data.share === null) return undefined;
  const share = parseShareRules(data.share);
  if (!share.ok) return `register.share: ${share.error}`;
  frame.share = share.value;
  return undefined;
}

/**
 * Parses one tunnel -> gateway frame (already JSON-decoded).
 * Unknown fields are ignored; a wrong shape yields an error naming the problem.
 */
export function parseTunnelFrame(data: unknown): ParseResult<TunnelToGatewayFrame> {
  if (!isObject(data)) return fail('Frame must be a JSON object');
  const type = data.type;
  if (typeof type !== 'string') return fail('Frame has no "type" field');
  switch (type) {
    case 'register': {
      const server = parseRegisteredServer(data.server ?? {});
      if (!server.ok) return server;
      const frame: RegisterFrame = { type, server: server.value };
      const problem = resumeFields(data, frame) ?? featureFields(data, frame) ?? shareField(data, frame);
      if (problem) return fail(problem);
      return { ok: true, value: frame };
    }
    case 'token_refresh':
      return tokenRefreshFrame(data);
    case 'unregister':
      return { ok: true, value: { type } };
    case 'heartbeat':
      return { ok: true, value: { type } };
    case 'ack':
      return ackFrame(data);
    case 'error':
      return { ok: true, value: { type, message: typeof data.message === 'string' ? data.message : '' } };
    default:
      if (PAYLOAD_TYPES.has(type)) return payloadFrame(type, data);
      return fail(`Unknown message type: ${type.slice(0, 64)}`);
  }
}

/** Limits on what a tunnel client takes from a gateway's control frames. */
export const GATEWAY_FRAME_LIMITS = {
  sessionId: 256,
  /** Longer messages are cut, not refused: they are only shown to the user. */
  message: 2000,
  /** `register_ack.mcpUrl`; a longer or malformed one is ignored (it is only shown to the user). */
  url: 2048,
} as const;

/** Frame types a gateway sends; the client ignores others (a newer gateway's) without complaint. */
export const GATEWAY_FRAME_TYPES: ReadonlySet<string> = new Set([
  'register_ack',
  'register_complete',
  'heartbeat',
  'request',
  'response',
  'ack',
  'error',
  'token_expiring',
  'token_refreshed',
]);

/** The fields both register answers share; a missing sessionId is '' (refusals may carry none). */
function registerAnswer(data: Record<string, unknown>): ParseResult<{ sessionId: string; status: RegisterStatus; message?: string }> {
  const sessionId = data.sessionId ?? '';
  if (typeof sessionId !== 'string' || sessionId.length > GATEWAY_FRAME_LIMITS.sessionId) {
    return fail(`"${String(data.type)}" frame: sessionId must be a string of at most ${GATEWAY_FRAME_LIMITS.sessionId} characters`);
  }
  // Anything but "success" is a refusal, as clients have always read it.
  const out: { sessionId: string; status: RegisterStatus; message?: string } = {
    sessionId,
    status: data.status === 'success' ? 'success' : 'error',
  };
  if (typeof data.message === 'string') out.message = data.message.slice(0, GATEWAY_FRAME_LIMITS.message);
  return { ok: true, value: out };
}

function registerAck(data: Record<string, unknown>): ParseResult<RegisterAckFrame> {
  const answer = registerAnswer(data);
  if (!answer.ok) return answer;
  const frame: RegisterAckFrame = { type: 'register_ack', ...answer.value };
  if (data.resumeToken !== undefined && data.resumeToken !== null) {
    if (typeof data.resumeToken !== 'string' || data.resumeToken === '' || data.resumeToken.length > RESUME_LIMITS.token) {
      return fail(`"register_ack" frame: resumeToken must be a string of 1 to ${RESUME_LIMITS.token} characters`);
    }
    frame.resumeToken = data.resumeToken;
  }
  for (const key of ['resumed', 'resumeRefused'] as const) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') return fail(`"register_ack" frame: ${key} must be true or false`);
    frame[key] = value;
  }
  for (const key of ['lastReceived', 'resumeGraceMs'] as const) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    if (!isCount(value)) return fail(`"register_ack" frame: ${key} must be a non-negative integer`);
    frame[key] = value;
  }
  const mcpUrl = httpUrl(data.mcpUrl);
  if (mcpUrl !== undefined) frame.mcpUrl = mcpUrl;
  return { ok: true, value: frame };
}

/** An http(s) URL of at most GATEWAY_FRAME_LIMITS.url characters, or undefined: informational fields are dropped, not refused. */
function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > GATEWAY_FRAME_LIMITS.url) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses one gateway -> tunnel frame (already JSON-decoded, depth-bounded) for the tunnel client:
 * known fields are checked and kept, strings bounded; unknown fields are ignored. A type outside
 * GATEWAY_FRAME_TYPES is an error, which a client may choose to ignore quietly.
 */
export function parseGatewayFrame(data: unknown): ParseResult<ParsedGatewayFrame> {
  if (!isObject(data)) return fail('Frame must be a JSON object');
  const type = data.type;
  if (typeof type !== 'string') return fail('Frame has no "type" field');
  switch (type) {
    case 'register_ack':
      return registerAck(data);
    case 'register_complete': {
      const answer = registerAnswer(data);
      if (!answer.ok) return answer;
      return { ok: true, value: { type, ...answer.value } };
    }
    case 'heartbeat':
      return {
        ok: true,
        value: {
          type,
          sessionId: typeof data.sessionId === 'string' ? data.sessionId.slice(0, GATEWAY_FRAME_LIMITS.sessionId) : '',
          timestamp: typeof data.timestamp === 'string' ? data.timestamp.slice(0, 64) : '',
        },
      };
    case 'request':
    case 'response':
      // Only those two types reach here, so the frame is one of them.
      return payloadFrame(type, data) as ParseResult<RequestFrame | ResponseFrame>;
    case 'ack':
      return ackFrame(data);
    case 'token_expiring':
      if (!isCount(data.expiresAt)) return fail('"token_expiring" frame needs a non-negative integer "expiresAt"');
      return { ok: true, value: { type, expiresAt: data.expiresAt } };
    case 'token_refreshed':
      return { ok: true, value: isCount(data.expiresAt) ? { type, expiresAt: data.expiresAt } : { type } };
    case 'error':
      return {
        ok: true,
        value: { type, message: typeof data.message === 'string' ? data.message.slice(0, GATEWAY_FRAME_LIMITS.message) : '' },
      };
    default:
      return fail(`Unknown message type: ${type.slice(0, 64)}`);
  }
}
