import net, { type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FakeTunnel } from '../../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { eventually } from '../../support/wait.js';
import { initializeRequest } from '../../support/raw-mcp.js';

/**
 * MCP clients that stop reading while their server talks a lot: the gateway must not hold more than
 * STREAM_MAX_BUFFERED_BYTES (plus one message) for each, and must end their streams. Measured on
 * the gateway's own sockets (bytes queued for each client) and on the process's ArrayBuffer memory
 * after a collection (what the Web streams of the SDK transport queue lives in).
 */

const MiB = 1024 * 1024;
/** What may stay allocated after the flood: a bound far below what non-readers cost without the limits (80+ MiB). */
const MAX_GROWTH = 16 * MiB;
const LIMIT = 256 * 1024;
const NOTE_BYTES = 256 * 1024;
const NOTES = 120; // 30 MiB offered to every non-reader
const READERS = 3;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let gw: RunningGateway;
let tunnel: FakeTunnel;
let token: string;
/** The gateway's side of every HTTP connection, by the client's port. */
const serverSockets = new Map<number, Socket>();

beforeAll(async () => {
  gw = await startGateway({ STREAM_MAX_BUFFERED_BYTES: String(LIMIT) });
  token = gw.mintToken('loud-listener@example.com');
  gw.app.getHttpServer().on('connection', (socket: Socket) => serverSockets.set(socket.remotePort!, socket));
  ({ tunnel } = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'loud', capabilities: { logging: {}, tools: {} } }));
});

afterAll(async () => {
  await tunnel.close();
  await gw.close();
});

/** Sends a raw HTTP request; resolves once the response's first bytes came, then reads no more. */
async function openAndStopReading(
  method: string,
  path: string,
  headers: Record<string, string>,
  until: (text: string) => boolean,
  body = '',
): Promise<{ socket: Socket; text: string }> {
  const socket = net.connect(gw.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: Bearer ${token}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  let text = '';
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!until(text)) return;
      socket.off('data', onData);
      socket.pause();
      resolve();
    };
    socket.on('data', onData);
  });
  return { socket, text };
}

/** A Streamable HTTP session of revision 2025-06-18, initialized; returns its id. */
async function streamableSession(): Promise<string> {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json, text/event-stream', 'Content-Type': 'application/json' };
  const init = await fetch(`${gw.httpUrl}/servers/loud/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'slow', version: '1' } },
    }),
  });
  await init.text();
  const id = init.headers.get('mcp-session-id')!;
  const ack = await fetch(`${gw.httpUrl}/servers/loud/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(ack.status).toBe(202);
  return id;
}

function log(n: number, bytes: number): string {
  return JSON.stringify({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `${n}:${'z'.repeat(bytes)}` } },
  });
}

const REVISION_2026 = '2026-07-28';
const ENVELOPE_2026 = { 'io.modelcontextprotocol/protocolVersion': REVISION_2026, 'io.modelcontextprotocol/clientCapabilities': {} };

/** The routing headers of a 2026-07-28 POST. */
function modernHeaders(method: string, name?: string): Record<string, string> {
  return {
    Accept: 'application/json, text/event-stream',
    'Content-Type': 'application/json',
    'MCP-Protocol-Version': REVISION_2026,
    'Mcp-Method': method,
    ...(name ? { 'Mcp-Name': name } : {}),
  };
}

function updated(uri: string): string {
  return JSON.stringify({ type: 'notification', payload: { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } } });
}

/**
 * The server sends `count` rounds of large notifications (`note(n)`, logs unless told) while the sockets do
 * not read. Resolves with the most bytes the gateway ever queued for any one of them and the
 * ArrayBuffer growth once the gateway has cut them all off.
 */
async function flood(
  sockets: Socket[],
  count: number,
  note: (n: number) => string | string[] = (n) => log(n, NOTE_BYTES),
  from: FakeTunnel = tunnel,
): Promise<{ peakQueued: number; arrayBufferGrowth: number }> {
  const gatewaySide = sockets.map((s) => serverSockets.get(s.localPort!)!);
  expect(gatewaySide.every(Boolean)).toBe(true);
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let peakQueued = 0;
  for (let n = 0; n < count; n++) {
    for (const frame of [note(n)].flat()) from.send(frame);
    await new Promise((resolve) => setTimeout(resolve, 2));
    for (const s of gatewaySide) peakQueued = Math.max(peakQueued, s.destroyed ? 0 : s.writableLength);
  }
  // Let the gateway take in the rest of the flood: its pong comes after it has handled every frame
  // sent before the ping. Until then the flood is in flight (the test shares the gateway's process,
  // and a busy machine slows the gateway's reading), which is not what the gateway keeps.
  await new Promise<void>((resolve) => {
    from.ws.once('pong', () => resolve());
    from.ws.ping();
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  // What is measured is what the gateway keeps once it has given up on the non-readers: chunks still
  // on their way through the SDK's streams when the flood ends are not a leak (a busy machine has more).
  // Generous: on a loaded machine the gateway takes a while to work through 30 MiB per reader.
  await eventually(() => gatewaySide.every((s) => s.destroyed), 'the gateway to cut the non-readers off', 20_000);
  return { peakQueued, arrayBufferGrowth: await settledGrowth(before) };
}

/**
 * What the process keeps over `before` once it settles: measured after full GCs for up to 10 s until
 * it is under the bound. Under a loaded machine the last chunks of a cut-off stream are released a
 * little later; memory that is kept never comes down, and still fails the bound.
 */
async function settledGrowth(before: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    gc();
    const growth = process.memoryUsage().arrayBuffers - before;
    if (growth < MAX_GROWTH || Date.now() > deadline) return growth;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('non-reading Streamable HTTP GET streams are cut off past the byte bound, and their memory goes', async () => {
  const readers: Socket[] = [];
  for (let i = 0; i < READERS; i++) {
    const id = await streamableSession();
    // Small logs until the stream carries one: the client is then known to be listening.
    const ticker = setInterval(() => tunnel.send(log(-1, 10)), 20);
    const { socket } = await openAndStopReading(
      'GET',
      '/servers/loud/mcp',
      { Accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
      (text) => text.includes('notifications/message'),
    ).finally(() => clearInterval(ticker));
    readers.push(socket);
  }
  try {
    const { peakQueued, arrayBufferGrowth } = await flood(readers, NOTES);
    // Each held at most the bound plus the message being written (and its SSE framing).
    expect(peakQueued).toBeLessThanOrEqual(LIMIT + NOTE_BYTES + 1024);
    // Not 3 x 30 MiB queued in the transports' streams: a few MiB of slack for the process.
    expect(arrayBufferGrowth).toBeLessThan(MAX_GROWTH);
  } finally {
    for (const s of readers) s.destroy();
  }
});

test('non-reading legacy SSE streams are cut off past the byte bound, which ends their sessions', async () => {
  const readers: Socket[] = [];
  for (let i = 0; i < READERS; i++) {
    const { socket, text } = await openAndStopReading('GET', '/servers/loud/sse', { Accept: 'text/event-stream' }, (t) =>
      t.includes('sessionId='),
    );
    const sessionId = /sessionId=([0-9a-f-]+)/.exec(text)![1];
    const init = await fetch(`${gw.httpUrl}/servers/loud/messages?sessionId=${sessionId}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(initializeRequest('2024-11-05', 1, 'slow')),
    });
    expect(init.status).toBe(202);
    readers.push(socket);
  }
  try {
    const { peakQueued, arrayBufferGrowth } = await flood(readers, NOTES);
    expect(peakQueued).toBeLessThanOrEqual(LIMIT + NOTE_BYTES + 1024);
    expect(arrayBufferGrowth).toBeLessThan(MAX_GROWTH);
  } finally {
    for (const s of readers) s.destroy();
  }
});

test('non-reading 2026-07-28 subscriptions/listen streams are cut off past the byte bound, and their memory goes', async () => {
  // A server whose resource updates a 2026 client can listen for; each update names one large URI.
  const { tunnel: server } = await FakeTunnel.register(gw.tunnelUrl, token, {
    name: 'loud-2026',
    capabilities: { resources: { subscribe: true, listChanged: true }, tools: { listChanged: true } },
  });
  const uri = `fixture://${'u'.repeat(NOTE_BYTES)}`;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 'listen-1',
    method: 'subscriptions/listen',
    params: {
      notifications: { toolsListChanged: true, resourceSubscriptions: [uri] },
      _meta: ENVELOPE_2026,
    },
  });
  const readers: Socket[] = [];
  try {
    for (let i = 0; i < READERS; i++) {
      // The stream opens with its acknowledgement: the subscription is in place from there on.
      const { socket, text } = await openAndStopReading(
        'POST',
        '/servers/loud-2026/mcp',
        modernHeaders('subscriptions/listen'),
        (t) => t.includes('notifications/subscriptions/acknowledged'),
        body,
      );
      expect(text).toMatch(/^HTTP\/1\.1 200/);
      readers.push(socket);
    }
    const { peakQueued, arrayBufferGrowth } = await flood(readers, NOTES, () => updated(uri), server);
    expect(peakQueued).toBeLessThanOrEqual(LIMIT + NOTE_BYTES + 1024);
    // Not 3 x 30 MiB queued in the SDK listen streams behind a writer waiting for 'drain'.
    expect(arrayBufferGrowth).toBeLessThan(MAX_GROWTH);
  } finally {
    for (const s of readers) s.destroy();
    await server.close();
  }
});

test('non-reading 2026-07-28 SSE answers are cut off past the byte bound, which cancels their calls at the server', async () => {
  const { tunnel: server } = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'loud-2026-call', capabilities: { tools: {} } });
  // The server never answers: it reports progress, large, for as long as the test likes.
  const calls: Record<string, any>[] = [];
  server.autoAnswer((payload) => {
    if (payload.method === 'tools/call') calls.push(payload);
    return undefined;
  });
  const progress = (call: Record<string, any>, n: number, bytes: number): string =>
    JSON.stringify({
      type: 'notification',
      payload: {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: call.params._meta.progressToken, progress: n, message: 'p'.repeat(bytes) },
      },
    });
  const readers: Socket[] = [];
  try {
    for (let i = 0; i < READERS; i++) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'chatty', arguments: {}, _meta: { ...ENVELOPE_2026, progressToken: `p-${i}` } },
      });
      const open = openAndStopReading(
        'POST',
        '/servers/loud-2026-call/mcp',
        modernHeaders('tools/call', 'chatty'),
        (t) => t.includes('notifications/progress'),
        body,
      );
      await eventually(() => calls.length === i + 1, 'the call to reach the server');
      // The first progress turns the answer into an SSE stream; the client then stops reading.
      server.send(progress(calls[i], 0, 10));
      const { socket, text } = await open;
      expect(text).toMatch(/^HTTP\/1\.1 200/);
      readers.push(socket);
    }
    const { peakQueued, arrayBufferGrowth } = await flood(
      readers,
      NOTES,
      (n) => calls.map((call) => progress(call, n + 1, NOTE_BYTES)),
      server,
    );
    expect(peakQueued).toBeLessThanOrEqual(LIMIT + NOTE_BYTES + 1024);
    expect(arrayBufferGrowth).toBeLessThan(MAX_GROWTH);
    // A cut-off 2026 request stream is a closed one: its call is cancelled at the server.
    const serverIds = calls.map((c) => c.id);
    await eventually(
      () =>
        serverIds.every((id) =>
          server.frames.some((f) => f.payload?.method === 'notifications/cancelled' && f.payload.params?.requestId === id),
        ),
      'the calls to be cancelled at the server',
    );
  } finally {
    for (const s of readers) s.destroy();
    await server.close();
  }
});
