/** What a hand-written MCP client sends, for tests that speak the transport without an SDK. */

/** The headers every hand-written Streamable HTTP POST carries. */
export function streamableHeaders(token?: string): Record<string, string> {
  return {
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
  };
}

/** An `initialize` request of the given revision. */
export function initializeRequest(protocolVersion = '2025-11-25', id = 0, clientName = 'raw') {
  return {
    jsonrpc: '2.0' as const,
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: clientName, version: '1' } },
  };
}

/**
 * Opens a Streamable HTTP session by hand: POSTs `initialize` to `url` with `headers` and returns the
 * response (its body unread) with the headers later requests of the session carry.
 */
export async function initializeByHand(
  url: string,
  headers: Record<string, string>,
  protocolVersion = '2025-11-25',
): Promise<{ response: Response; sessionHeaders: Record<string, string> }> {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(initializeRequest(protocolVersion)) });
  const sessionHeaders = {
    ...headers,
    'Mcp-Session-Id': response.headers.get('mcp-session-id') ?? '',
    'MCP-Protocol-Version': protocolVersion,
  };
  return { response, sessionHeaders };
}
