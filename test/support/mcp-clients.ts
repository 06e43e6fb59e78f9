import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export type ClientCapabilities = NonNullable<ClientOptions['capabilities']>;

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** An SDK client on `/servers/<name>/mcp` (Streamable HTTP). */
export async function connectStreamable(
  httpUrl: string,
  name: string,
  token: string | undefined,
  capabilities: ClientCapabilities = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${httpUrl}/servers/${name}/mcp`), {
    requestInit: { headers: authHeaders(token) },
  });
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}

/** An SDK client on `/servers/<name>/sse` (legacy HTTP+SSE). */
export async function connectLegacySse(
  httpUrl: string,
  name: string,
  token: string | undefined,
  capabilities: ClientCapabilities = {},
): Promise<{ client: Client; transport: SSEClientTransport }> {
  const transport = new SSEClientTransport(new URL(`${httpUrl}/servers/${name}/sse`), {
    requestInit: { headers: authHeaders(token) },
  });
  const client = new Client({ name: 'legacy-client', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}

/** The text of a tool result's first content item. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content[0]?.text ?? '';
}
