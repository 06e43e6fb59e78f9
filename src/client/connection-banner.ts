/**
 * What the user sees once the tunnel is first registered: the URL MCP clients use, and snippets
 * for the common clients, ready to paste. Built from the URL the gateway reported
 * (register_ack.mcpUrl), never from a guess: without it, the text says so.
 */

/** Hosts mcp-remote talks plain http to without `--allow-http`. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Where the token for MCP clients goes in the snippets; never the tunnel's own token. */
const TOKEN_PLACEHOLDER = '<token>';

/** The lines printed after the first registration of `name`. */
export function onlineBanner(name: string, mcpUrl: string | undefined): string[] {
  if (mcpUrl === undefined) {
    return [
      `"${name}" is registered, but the gateway did not say where MCP clients reach it (set PUBLIC_URL on the gateway);` +
        ` the URL is <the gateway's public URL>/servers/${name}/mcp`,
    ];
  }
  const bearer = `Bearer ${TOKEN_PLACEHOLDER}`;
  const remoteArgs = ['-y', 'mcp-remote', mcpUrl];
  if (new URL(mcpUrl).protocol === 'http:' && !LOOPBACK_HOSTS.has(new URL(mcpUrl).hostname)) remoteArgs.push('--allow-http');
  // The header goes through an environment variable: some platforms split `args` at spaces.
  remoteArgs.push('--header', 'Authorization:${GATEWAY_AUTH}');
  const claudeDesktop = { mcpServers: { [name]: { command: 'npx', args: remoteArgs, env: { GATEWAY_AUTH: bearer } } } };
  const mcpJson = { servers: { [name]: { type: 'http', url: mcpUrl, headers: { Authorization: bearer } } } };
  return [
    `"${name}" is online; MCP clients connect to`,
    `  ${mcpUrl}`,
    `(${TOKEN_PLACEHOLDER}: a token of the gateway for the MCP client; leave the header out if the gateway runs without auth)`,
    '  MCP Inspector:',
    `    npx @modelcontextprotocol/inspector --cli ${mcpUrl} --transport http --header "Authorization: ${bearer}" --method tools/list`,
    '  Claude Desktop (claude_desktop_config.json, through mcp-remote):',
    `    ${JSON.stringify(claudeDesktop)}`,
    '  mcp.json / .vscode/mcp.json:',
    `    ${JSON.stringify(mcpJson)}`,
  ];
}

/** The one line printed when the tunnel is registered again (a reconnect or a resume). */
export function backOnlineLine(name: string, mcpUrl: string | undefined, resumed: boolean): string {
  return `"${name}" is back online${resumed ? ' (session resumed)' : ''}${mcpUrl ? ` at ${mcpUrl}` : ''}`;
}
