#!/usr/bin/env node
/**
 * The stdio MCP server behind every benchmark path: one tool, `echo`, answered at once.
 *
 *   node bench/echo-server.mjs [--impl raw|sdk]     (default: ECHO_IMPL, else raw)
 *
 * raw: a hand-rolled newline-delimited JSON-RPC loop (initialize, ping, tools/list, tools/call).
 * sdk: the official SDK's low-level `Server` on `StdioServerTransport`.
 * run.mjs measures both on the direct path and reports why it picked the one it uses for the
 * other paths (the SDK server's own per-call cost would otherwise be part of every path's figure).
 */

const at = process.argv.indexOf('--impl');
const impl = at !== -1 ? process.argv[at + 1] : process.env.ECHO_IMPL || 'raw';

const SERVER_INFO = { name: 'bench-echo', version: '1.0.0' };
const ECHO_TOOL = {
  name: 'echo',
  description: 'Returns its text',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

if (impl === 'sdk') {
  const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const { CallToolRequestSchema, ListToolsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
  const server = new Server(SERVER_INFO, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [ECHO_TOOL] }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => ({
    content: [{ type: 'text', text: String(req.params.arguments?.text ?? '') }],
  }));
  await server.connect(new StdioServerTransport());
} else {
  const write = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
  const answer = (msg) => {
    if (typeof msg !== 'object' || msg === null || typeof msg.method !== 'string') return;
    if (msg.id === undefined) return; // notifications (initialized, cancelled): nothing to say
    switch (msg.method) {
      case 'initialize':
        return write({
          jsonrpc: '2.0',
          id: msg.id,
          result: {
            protocolVersion: msg.params?.protocolVersion ?? '2025-06-18',
            capabilities: { tools: {} },
            serverInfo: SERVER_INFO,
          },
        });
      case 'ping':
        return write({ jsonrpc: '2.0', id: msg.id, result: {} });
      case 'tools/list':
        return write({ jsonrpc: '2.0', id: msg.id, result: { tools: [ECHO_TOOL] } });
      case 'tools/call':
        return write({
          jsonrpc: '2.0',
          id: msg.id,
          result: { content: [{ type: 'text', text: String(msg.params?.arguments?.text ?? '') }] },
        });
      default:
        return write({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
    }
  };
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        answer(JSON.parse(line));
      } catch {
        // not JSON: a real server would answer -32700; the bench never sends such lines
      }
    }
  });
  process.stdin.on('end', () => process.exit(0));
}
