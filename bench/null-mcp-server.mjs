#!/usr/bin/env node
/**
 * The ceiling of the SDK client as a load generator: a Streamable HTTP endpoint that does no MCP
 * work at all (no session state, no tunnel, no stdio server) and answers every request at once,
 * as an SSE event like the SDK's server transport does by default.
 *
 *   node bench/null-mcp-server.mjs <port>
 *
 * Paths 4 and 5 cannot go faster than the SDK client can call this, on the same machine.
 */
import http from 'node:http';

const port = Number(process.argv[2]);
const SESSION = 'null-session';

http
  .createServer((req, res) => {
    if (req.method === 'DELETE') return res.writeHead(200).end();
    if (req.method !== 'POST') return res.writeHead(405, { Allow: 'POST' }).end();
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const message = JSON.parse(body);
      if (message.id === undefined) return res.writeHead(202).end();
      const result =
        message.method === 'initialize'
          ? { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'null', version: '1.0.0' } }
          : { content: [{ type: 'text', text: message.params?.arguments?.text ?? '' }] };
      const data = JSON.stringify({ jsonrpc: '2.0', id: message.id, result });
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'mcp-session-id': SESSION });
      res.end(`event: message\ndata: ${data}\n\n`);
    });
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`listening on ${port}\n`));
