/**
 * HttpLocalServer (the CLI's `--local-streamable-http` side) against a real HTTP server on a
 * loopback port, scripted per test: what the transport's trouble looks like in the CLI's output.
 * Found by the conformance suite's client scenarios (docs/mcp.md, "Conformance"): each failed GET
 * stream was printed twice, a failed POST once more besides the caller's own report, and a
 * shutdown printed an AbortError for every stream it closed itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpLocalServer } from '../../src/client/local-http-server.js';

type GetAnswer = 'missing' | 'not-offered' | 'stream';

interface Scripted {
  url: string;
  /** Resolves once a GET stream is open. */
  streamOpened: Promise<void>;
  /** Resolves once the open GET stream's connection is gone. */
  streamClosed: Promise<void>;
}

let http: Server;

/** A Streamable HTTP server that initializes, accepts notifications, answers 500 to any other POST, and answers GET as told. */
async function scriptedServer(get: GetAnswer): Promise<Scripted> {
  let opened!: () => void;
  let closed!: () => void;
  const streamOpened = new Promise<void>((r) => (opened = r));
  const streamClosed = new Promise<void>((r) => (closed = r));
  http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') {
      if (get === 'missing') return void res.writeHead(404).end();
      if (get === 'not-offered') return void res.writeHead(405).end();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' });
      res.write('id: e1\ndata: \n\n');
      res.on('close', closed);
      return void opened();
    }
    // A server that keeps its streams open when the session is deleted.
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const message = JSON.parse(body) as { id?: number; method: string };
      if (message.method === 'initialize') {
        const result = { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } };
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      } else if (message.id === undefined) res.writeHead(202).end();
      else res.writeHead(500).end('boom');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, streamOpened, streamClosed };
}

/** Lets whatever the transport does next (promise chains, aborted fetches) run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** Starts the local server and does the handshake, which opens the GET stream; returns what it printed. */
async function connected(url: string): Promise<{ local: HttpLocalServer; output: string[]; firstOutput: Promise<void> }> {
  const local = new HttpLocalServer({ kind: 'streamable-http', url });
  const output: string[] = [];
  let first!: () => void;
  const firstOutput = new Promise<void>((r) => (first = r));
  local.onoutput = (line) => {
    output.push(line);
    first();
  };
  await local.start();
  await local.send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  await local.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { local, output, firstOutput };
}

afterEach(async () => {
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

test('a GET stream the server refuses is reported once', async () => {
  const { url } = await scriptedServer('missing');
  const { local, output, firstOutput } = await connected(url);
  await firstOutput;
  await settle();
  expect(output).toEqual(['transport: Streamable HTTP error: Failed to open SSE stream: Not Found']);
  await local.stop();
});

test('a failed send rejects for its caller and is not reported a second time', async () => {
  const { url } = await scriptedServer('not-offered');
  const { local, output } = await connected(url);
  await expect(local.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })).rejects.toThrow(/boom/);
  await settle();
  expect(output).toEqual([]);
  await local.stop();
});

test('stopping closes the open streams without reporting their abort', async () => {
  const { url, streamOpened, streamClosed } = await scriptedServer('stream');
  const { local, output } = await connected(url);
  await streamOpened;
  let exits = 0;
  local.onexit = () => exits++;
  await local.stop();
  await streamClosed;
  await settle();
  expect(output).toEqual([]);
  expect(exits).toBe(1);
});
