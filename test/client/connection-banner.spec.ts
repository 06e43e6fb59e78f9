import { backOnlineLine, onlineBanner } from '../../src/client/connection-banner.js';

test('with the URL: the URL on its own line and three snippets that parse and name it', () => {
  const url = 'https://gw.example.com/servers/notes/mcp';
  const lines = onlineBanner('notes', url);
  expect(lines[1]).toBe(`  ${url}`);
  const json = lines.filter((l) => l.trimStart().startsWith('{')).map((l) => JSON.parse(l));
  expect(json).toEqual([
    {
      mcpServers: {
        notes: {
          command: 'npx',
          args: ['-y', 'mcp-remote', url, '--header', 'Authorization:${GATEWAY_AUTH}'],
          env: { GATEWAY_AUTH: 'Bearer <token>' },
        },
      },
    },
    { servers: { notes: { type: 'http', url, headers: { Authorization: 'Bearer <token>' } } } },
  ]);
  expect(lines.join('\n')).toContain(`npx @modelcontextprotocol/inspector --cli ${url} --transport http`);
});

test('mcp-remote gets --allow-http for a plain-http gateway that is not on loopback, only then', () => {
  expect(onlineBanner('a', 'http://gw.lan:3000/servers/a/mcp').join('\n')).toContain('"--allow-http"');
  expect(onlineBanner('a', 'http://127.0.0.1:3000/servers/a/mcp').join('\n')).not.toContain('--allow-http');
});

test('without the URL: one line that says so, and no guessed URL', () => {
  const lines = onlineBanner('notes', undefined);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/the gateway did not say where MCP clients reach it \(set PUBLIC_URL on the gateway\)/);
  expect(lines[0]).not.toMatch(/https?:\/\//);
});

test('a reconnect is one line', () => {
  expect(backOnlineLine('notes', 'https://gw/servers/notes/mcp', false)).toBe('"notes" is back online at https://gw/servers/notes/mcp');
  expect(backOnlineLine('notes', undefined, true)).toBe('"notes" is back online (session resumed)');
});
