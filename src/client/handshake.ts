/**
 * The MCP handshake the tunnel does with its local server before registering it: initialize
 * (newest protocol version first, older ones if the server refuses), then
 * notifications/initialized. What the server reports is what the gateway gets in `register`.
 */
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { isObject, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/json-rpc.js';

export interface HandshakeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
}

export class HandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/**
 * What the tunnel offers on behalf of the clients behind the gateway: server-to-client requests
 * are relayed to them, so the server may use sampling, elicitation and roots.
 */
export const TUNNEL_CLIENT_CAPABILITIES = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

export interface HandshakeIo {
  /** Sends a request and resolves with the answer carrying its id (rejects on timeout). */
  call(request: JsonRpcRequest): Promise<JsonRpcResponse>;
  notify(notification: JsonRpcNotification): Promise<void>;
  /** Warnings worth showing (an unknown protocol version); optional. */
  warn?(message: string): void;
}

export async function initializeLocalServer(
  io: HandshakeIo,
  clientInfo: { name: string; version: string },
  versions: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS,
): Promise<HandshakeResult> {
  let refusal = 'no protocol version was accepted';
  for (const [attempt, version] of versions.entries()) {
    const answer = await io.call({
      jsonrpc: '2.0',
      id: `mcp-tunnel-initialize-${attempt + 1}`,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: TUNNEL_CLIENT_CAPABILITIES, clientInfo },
    });
    if ('error' in answer) {
      // Older servers answer an unknown version with an error instead of proposing their own.
      refusal = `${answer.error.message} (code ${answer.error.code})`;
      continue;
    }
    const result = answer.result;
    if (!isObject(result) || typeof result.protocolVersion !== 'string' || !isObject(result.capabilities)) {
      throw new HandshakeError('the local server answered initialize without protocolVersion and capabilities');
    }
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(result.protocolVersion)) {
      io.warn?.(`the local server chose protocol version ${result.protocolVersion}, which this client does not know; relaying anyway`);
    }
    await io.notify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const out: HandshakeResult = {
      protocolVersion: result.protocolVersion,
      capabilities: result.capabilities,
      serverInfo: isObject(result.serverInfo) ? result.serverInfo : {},
    };
    if (typeof result.instructions === 'string') out.instructions = result.instructions;
    return out;
  }
  throw new HandshakeError(`the local server refused initialize: ${refusal}`);
}
