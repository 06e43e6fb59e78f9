import { classifyInboundRequest, isJsonContentType, type InboundModernRoute } from '@modelcontextprotocol/server';
import type { IncomingHttpHeaders } from 'node:http';

/** The revision this door serves; it is the only stateless one so far. */
export const STATELESS_REVISION = '2026-07-28';

/** A 2026-07-28 request the door may take straight to its server (see `directStatelessRoute`). */
export type DirectStatelessRoute = Extract<InboundModernRoute, { messageKind: 'request' }>;

/**
 * The methods the gateway's server only relays (their answers come from the tunnel), and the body
 * field the `Mcp-Name` header mirrors for those that have one.
 */
const RELAYED_METHODS = new Map<string, string | undefined>([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tools/list', undefined],
  ['prompts/list', undefined],
  ['resources/list', undefined],
  ['resources/templates/list', undefined],
  ['completion/complete', undefined],
]);

/**
 * The route of a 2026-07-28 POST that the SDK's entry would hand to its server as it is, or
 * undefined: then the SDK's handler takes it and answers its own rules. Taken are one request of
 * a relayed method, JSON, with a valid envelope and routing headers that say exactly what the body
 * says (`MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` in plain text); the envelope and the
 * header/body agreement are the SDK's own classification. Everything the entry would refuse, and
 * what is merely unusual (an encoded or padded header, `server/discover`, `subscriptions/listen`),
 * is left to the SDK.
 */
export function directStatelessRoute(headers: IncomingHttpHeaders, body: unknown): DirectStatelessRoute | undefined {
  const version = headers['mcp-protocol-version'];
  const method = headers['mcp-method'];
  if (version !== STATELESS_REVISION || typeof method !== 'string' || !RELAYED_METHODS.has(method)) return undefined;
  if (!isJsonContentType(headers['content-type'])) return undefined;
  const name = headers['mcp-name'];
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: version,
    mcpMethodHeader: method,
    ...(typeof name === 'string' ? { mcpNameHeader: name } : {}),
    body,
  });
  if (route.kind !== 'modern' || route.messageKind !== 'request' || route.classification.revision !== STATELESS_REVISION) {
    return undefined;
  }
  const field = RELAYED_METHODS.get(method);
  if (field !== undefined) {
    const value = route.message.params?.[field];
    if (typeof value !== 'string' || name !== value) return undefined;
  }
  return route;
}
