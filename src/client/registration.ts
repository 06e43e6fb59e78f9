/**
 * Builds the `register` frame's server description from what the local server reported in its
 * initialize result, and tells whether a restarted server may keep the registered session.
 * Deliberately has no access to the command line: it may hold secrets.
 */
import { SERVER_INFO_LIMITS, SERVER_NAME_PATTERN, type RegisteredServer } from '../protocol/envelopes.js';
import { isObject } from '../protocol/json-rpc.js';
import type { HandshakeResult } from './handshake.js';
import type { LocalProtocol } from './local-server.js';

export interface RegistrationInput {
  handshake: HandshakeResult;
  protocol: LocalProtocol;
  /** --name; otherwise derived from serverInfo.name. */
  name?: string;
  /** --server-description; otherwise serverInfo.description when present. */
  description?: string;
}

const FALLBACK_NAME = 'mcp-server';

/**
 * Turns a serverInfo.name such as "@modelcontextprotocol/server-everything" into a name the
 * gateway accepts in a URL path ("modelcontextprotocol-server-everything").
 */
export function toServerName(raw: string): string {
  const name = raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, SERVER_INFO_LIMITS.name)
    .replace(/[-.]+$/, '');
  return SERVER_NAME_PATTERN.test(name) ? name : FALLBACK_NAME;
}

function text(value: unknown, limit: number): string | undefined {
  return typeof value === 'string' ? value.slice(0, limit) : undefined;
}

function fits(value: Record<string, unknown>): boolean {
  return JSON.stringify(value).length <= SERVER_INFO_LIMITS.objectBytes;
}

/** The `server` of a register frame; also returns warnings about anything cut to fit the gateway's limits. */
export function buildRegistration(input: RegistrationInput): { server: RegisteredServer; warnings: string[] } {
  const { handshake } = input;
  const info = handshake.serverInfo;
  const warnings: string[] = [];
  const server: RegisteredServer = {
    name: input.name ?? toServerName(typeof info.name === 'string' ? info.name : FALLBACK_NAME),
    protocolVersion: handshake.protocolVersion.slice(0, SERVER_INFO_LIMITS.protocolVersion),
    capabilities: handshake.capabilities,
    protocol: input.protocol,
  };
  const title = text(info.title, SERVER_INFO_LIMITS.title);
  if (title) server.title = title;
  const description = input.description ?? text(info.description, SERVER_INFO_LIMITS.description);
  if (description) server.description = description.slice(0, SERVER_INFO_LIMITS.description);
  const version = text(info.version, SERVER_INFO_LIMITS.version);
  if (version) server.version = version;
  if (handshake.instructions !== undefined) {
    if (handshake.instructions.length > SERVER_INFO_LIMITS.instructions) {
      warnings.push(`the server's instructions were cut to ${SERVER_INFO_LIMITS.instructions} characters`);
    }
    server.instructions = handshake.instructions.slice(0, SERVER_INFO_LIMITS.instructions);
  }
  if (fits(info)) {
    server.serverInfo = info;
  } else {
    // Icons as data: URLs are the usual culprit; keep the rest.
    const { icons: _icons, ...rest } = info;
    if (fits(rest)) server.serverInfo = rest;
    warnings.push(
      `serverInfo was larger than ${SERVER_INFO_LIMITS.objectBytes} bytes; ${fits(rest) ? 'icons' : 'it'} left out of the registration`,
    );
  }
  if (!fits(handshake.capabilities)) {
    warnings.push(`the server's capabilities are larger than ${SERVER_INFO_LIMITS.objectBytes} bytes; the gateway may refuse them`);
  }
  return { server, warnings };
}

/**
 * Whether a restarted local server can carry on the session registered for `registered`: the same
 * name and the same capabilities (compared with sorted keys), which is what the gateway's MCP
 * clients negotiated. Descriptive fields (version, description, instructions) may differ.
 */
export function sameRegistration(registered: RegisteredServer, restarted: RegisteredServer): boolean {
  return registered.name === restarted.name && canonicalJson(registered.capabilities ?? {}) === canonicalJson(restarted.capabilities ?? {});
}

/** JSON with object keys sorted, so equal objects serialize equally whatever order their keys came in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
