/**
 * What an MCP client needs to use a tunnelled server, ready to paste: the same text for the tunnel
 * CLI's banner (src/client/connection-banner.ts) and the admin console's tunnel page. Pure: no
 * Node API, so the browser bundle can import it.
 */

/** Hosts mcp-remote talks plain http to without `--allow-http`. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Where the token for MCP clients goes in the snippets; never the tunnel's own token. */
export const TOKEN_PLACEHOLDER = '<token>';

/** What the placeholder stands for, in one sentence. */
export const TOKEN_PLACEHOLDER_NOTE = `${TOKEN_PLACEHOLDER}: a token of the gateway for the MCP client; leave the header out if the gateway runs without auth`;

/** One snippet per common client, for the server `name` at `mcpUrl`. */
export interface ClientSnippets {
  /** The MCP Inspector's CLI, listing the tools. */
  inspector: string;
  /** claude_desktop_config.json, through mcp-remote. */
  claudeDesktop: string;
  /** mcp.json / .vscode/mcp.json (Streamable HTTP with a header). */
  mcpJson: string;
}

/** The snippets for the server `name` reached at `mcpUrl`. */
export function clientSnippets(name: string, mcpUrl: string): ClientSnippets {
  const bearer = `Bearer ${TOKEN_PLACEHOLDER}`;
  const url = new URL(mcpUrl);
  const remoteArgs = ['-y', 'mcp-remote', mcpUrl];
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) remoteArgs.push('--allow-http');
  // The header goes through an environment variable: some platforms split `args` at spaces.
  remoteArgs.push('--header', 'Authorization:${GATEWAY_AUTH}');
  const claudeDesktop = { mcpServers: { [name]: { command: 'npx', args: remoteArgs, env: { GATEWAY_AUTH: bearer } } } };
  const mcpJson = { servers: { [name]: { type: 'http', url: mcpUrl, headers: { Authorization: bearer } } } };
  return {
    inspector: `npx @modelcontextprotocol/inspector --cli ${mcpUrl} --transport http --header "Authorization: ${bearer}" --method tools/list`,
    claudeDesktop: JSON.stringify(claudeDesktop),
    mcpJson: JSON.stringify(mcpJson),
  };
}
