/**
 * What the user sees once the tunnel is first registered: the URL MCP clients use, and snippets
 * for the common clients, ready to paste. Built from the URL the gateway reported
 * (register_ack.mcpUrl), never from a guess: without it, the text says so.
 */
import { clientSnippets, TOKEN_PLACEHOLDER_NOTE } from '../protocol/client-snippets.js';

/** The lines printed after the first registration of `name`. */
export function onlineBanner(name: string, mcpUrl: string | undefined): string[] {
  if (mcpUrl === undefined) {
    return [
      `"${name}" is registered, but the gateway did not say where MCP clients reach it (set PUBLIC_URL on the gateway);` +
        ` the URL is <the gateway's public URL>/servers/${name}/mcp`,
    ];
  }
  const snippets = clientSnippets(name, mcpUrl);
  return [
    `"${name}" is online; MCP clients connect to`,
    `  ${mcpUrl}`,
    `(${TOKEN_PLACEHOLDER_NOTE})`,
    '  MCP Inspector:',
    `    ${snippets.inspector}`,
    '  Claude Desktop (claude_desktop_config.json, through mcp-remote):',
    `    ${snippets.claudeDesktop}`,
    '  mcp.json / .vscode/mcp.json:',
    `    ${snippets.mcpJson}`,
  ];
}

/** The one line printed when the tunnel is registered again (a reconnect or a resume). */
export function backOnlineLine(name: string, mcpUrl: string | undefined, resumed: boolean): string {
  return `"${name}" is back online${resumed ? ' (session resumed)' : ''}${mcpUrl ? ` at ${mcpUrl}` : ''}`;
}
