import {
  classifyInboundRequest,
  isJsonContentType,
  PROTOCOL_VERSION_META_KEY,
  type InboundModernRoute,
  type JSONRPCRequest,
} from '@modelcontextprotocol/server';
import type { IncomingHttpHeaders } from 'node:http';
import { isPlainRequest } from '../http/plain-request.js';

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
 * The `_meta` objects (as JSON) of requests the SDK's classification accepted. What it decides of a
 * request that passed the checks of `directStatelessRoute` depends on the `_meta` alone (whether it
 * is a valid envelope), so a client's next requests with the same `_meta` need not be parsed by
 * its schemas again: a zod parse per request, and the garbage its failed trial parses leave (the
 * classification tries the message as a response first). Bounded in count (past `max` it starts
 * over) and in bytes: a `_meta` longer than `maxChars` is classified each time, never kept, so a
 * peer cannot park request bodies here.
 */
export class AcceptedEnvelopes {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max = 256,
    private readonly maxChars = 1024,
  ) {}

  /** Whether `meta` (as JSON) was accepted before. */
  has(meta: string): boolean {
    return this.seen.has(meta);
  }

  /** Remembers an accepted `meta` (as JSON), unless it is too long to keep. */
  add(meta: string): void {
    if (meta.length > this.maxChars) return;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(meta);
  }
}

/**
 * The route of a 2026-07-28 POST that the SDK's entry would hand to its server as it is, or
 * undefined: then the SDK's handler takes it and answers its own rules. Taken are one request of
 * a relayed method, JSON, with a valid envelope and routing headers that say exactly what the body
 * says (`MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` in plain text). Whether the envelope
 * is valid is the SDK's own classification (`classifyInboundRequest`), remembered per `_meta` in
 * `accepted` when given. Everything the entry would refuse, and what is merely unusual (an encoded
 * or padded header, `server/discover`, `subscriptions/listen`, an unusual message), is left to the SDK.
 */
export function directStatelessRoute(
  headers: IncomingHttpHeaders,
  body: unknown,
  accepted?: AcceptedEnvelopes,
): DirectStatelessRoute | undefined {
  const version = headers['mcp-protocol-version'];
  const method = headers['mcp-method'];
  if (version !== STATELESS_REVISION || typeof method !== 'string' || !RELAYED_METHODS.has(method)) return undefined;
  if (!isJsonContentType(headers['content-type'])) return undefined;
  if (!isPlainRequest(body) || body.method !== method) return undefined;
  // isPlainRequest admits object params only.
  const message = body as JSONRPCRequest;
  const params = message.params;
  const meta = params?._meta;
  if (meta?.[PROTOCOL_VERSION_META_KEY] !== STATELESS_REVISION) return undefined;
  const name = headers['mcp-name'];
  const field = RELAYED_METHODS.get(method);
  if (field !== undefined) {
    const value = params?.[field];
    if (typeof value !== 'string' || name !== value) return undefined;
  }
  const metaJson = accepted ? JSON.stringify(meta) : undefined;
  if (metaJson !== undefined && accepted?.has(metaJson)) {
    return { kind: 'modern', messageKind: 'request', message, classification: { era: 'modern', revision: STATELESS_REVISION } };
  }
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: version,
    mcpMethodHeader: method,
    ...(typeof name === 'string' ? { mcpNameHeader: name } : {}),
    body: message,
  });
  if (route.kind !== 'modern' || route.messageKind !== 'request' || route.classification.revision !== STATELESS_REVISION) {
    return undefined;
  }
  if (metaJson !== undefined) accepted?.add(metaJson);
  return route;
}
