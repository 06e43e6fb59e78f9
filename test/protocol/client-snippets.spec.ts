import { clientSnippets, TOKEN_PLACEHOLDER, TOKEN_PLACEHOLDER_NOTE } from '../../src/protocol/client-snippets.js';

test('the three snippets for a server, with the placeholder, never a real token', () => {
  const s = clientSnippets('git-tools', 'https://mcp.example.com/servers/git-tools/mcp');
  expect(s.inspector).toBe(
    'npx @modelcontextprotocol/inspector --cli https://mcp.example.com/servers/git-tools/mcp --transport http --header "Authorization: Bearer <token>" --method tools/list',
  );
  expect(JSON.parse(s.claudeDesktop)).toEqual({
    mcpServers: {
      'git-tools': {
        command: 'npx',
        args: ['-y', 'mcp-remote', 'https://mcp.example.com/servers/git-tools/mcp', '--header', 'Authorization:${GATEWAY_AUTH}'],
        env: { GATEWAY_AUTH: 'Bearer <token>' },
      },
    },
  });
  expect(JSON.parse(s.mcpJson)).toEqual({
    servers: {
      'git-tools': { type: 'http', url: 'https://mcp.example.com/servers/git-tools/mcp', headers: { Authorization: 'Bearer <token>' } },
    },
  });
  expect(TOKEN_PLACEHOLDER_NOTE.startsWith(TOKEN_PLACEHOLDER)).toBe(true);
});

test('mcp-remote gets --allow-http for plain http to a host other than loopback, only then', () => {
  const args = (url: string) => JSON.parse(clientSnippets('n', url).claudeDesktop).mcpServers.n.args as string[];
  expect(args('http://gw.internal:3000/servers/n/mcp')).toContain('--allow-http');
  for (const url of [
    'http://localhost:3000/servers/n/mcp',
    'http://127.0.0.1/servers/n/mcp',
    'http://[::1]:3000/servers/n/mcp',
    'https://gw/servers/n/mcp',
  ]) {
    expect(args(url)).not.toContain('--allow-http');
  }
});
