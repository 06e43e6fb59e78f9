/**
 * The tunnel wire protocol: JSON text frames exchanged over the WebSocket between a tunnel
 * client and the gateway. Field names follow the reference gateway so its clients work unchanged.
 * Pure types and parsers: no Nest, no I/O.
 */
import { isObject, type JsonRpcMessage } from './json-rpc.js';

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

// ---- tunnel -> gateway ----
export interface RegisterFrame {
  type: 'register';
  server: RegisteredServer;
  /** Sent by older clients; ignored, the gateway chooses the id. */
  sessionId?: string;
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
export interface ResponseFrame {
  type: 'response';
  sessionId?: string;
  payload: JsonRpcMessage;
}
export interface NotificationFrame {
  type: 'notification';
  sessionId?: string;
  payload: JsonRpcMessage;
}
/**
 * Gateway -> tunnel: any JSON-RPC message for the local server.
 * Tunnel -> gateway: a server-to-client request (sampling, elicitation, roots, ping).
 */
export interface RequestFrame {
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

// ---- gateway -> tunnel ----
export interface RegisterAckFrame {
  type: 'register_ack';
  sessionId: string;
  status: RegisterStatus;
  message?: string;
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

export type TunnelToGatewayFrame =
  RegisterFrame | UnregisterFrame | HeartbeatFrame | ResponseFrame | NotificationFrame | RequestFrame | ErrorFrame;

export type GatewayToTunnelFrame = RegisterAckFrame | RegisterCompleteFrame | HeartbeatReplyFrame | RequestFrame | ErrorFrame;

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
      return { ok: true, value: { type, server: server.value } };
    }
    case 'unregister':
      return { ok: true, value: { type } };
    case 'heartbeat':
      return { ok: true, value: { type } };
    case 'error':
      return { ok: true, value: { type, message: typeof data.message === 'string' ? data.message : '' } };
    default:
      if (PAYLOAD_TYPES.has(type)) {
        if (!isObject(data.payload)) return fail(`"${type}" frame needs an object "payload"`);
        const frame: RequestFrame | ResponseFrame | NotificationFrame = {
          type: type as 'request',
          payload: data.payload as unknown as JsonRpcMessage,
        };
        return { ok: true, value: frame };
      }
      return fail(`Unknown message type: ${type.slice(0, 64)}`);
  }
}
