import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdResponseWrites } from '../../../src/mcp/http/hold-response-writes.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Counts how many times the stream layer hands the socket data: one count per syscall-sized batch. */
function countSocketWrites(socket: Socket): { count: number } {
  const counter = { count: 0 };
  const s = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const write = s._write.bind(s);
  const writev = s._writev.bind(s);
  s._write = (...a: unknown[]) => {
    counter.count++;
    write(...a);
  };
  s._writev = (...a: unknown[]) => {
    counter.count++;
    writev(...a);
  };
  return counter;
}

async function serve(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
  };
}

/** A streamed answer the way the MCP SDK writes one: headers flushed at once, an event, the end later. */
function streamedAnswer(res: ServerResponse, answerAfterMs: number, written: { count: number }[]): void {
  written.push(countSocketWrites(res.socket!));
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
  res.write('id: 1\ndata: \n\n');
  setTimeout(() => {
    res.write('event: message\ndata: {"answer":42}\n\n');
    res.end();
  }, answerAfterMs);
}

test('a quick answer leaves in one write: headers, events and the end of the stream together', async () => {
  const written: { count: number }[] = [];
  const server = await serve((_req, res) => {
    holdResponseWrites(res, 200);
    streamedAnswer(res, 5, written);
  });
  try {
    const res = await fetch(server.url);
    expect(await res.text()).toBe('id: 1\ndata: \n\nevent: message\ndata: {"answer":42}\n\n');
    expect(written[0].count).toBe(1);
  } finally {
    await server.close();
  }
});

test('without the hold the same answer takes several writes (what the hold saves)', async () => {
  const written: { count: number }[] = [];
  const server = await serve((_req, res) => streamedAnswer(res, 5, written));
  try {
    await (await fetch(server.url)).text();
    expect(written[0].count).toBeGreaterThan(1);
  } finally {
    await server.close();
  }
});

test('a slow answer does not hold the headers back longer than the limit', async () => {
  let answered = false;
  const server = await serve((_req, res) => {
    holdResponseWrites(res, 20);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    setTimeout(() => {
      answered = true;
      res.end('event: message\ndata: {}\n\n');
    }, 1000);
  });
  try {
    const res = await fetch(server.url);
    // The headers arrived while the answer was still being worked on.
    expect(answered).toBe(false);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('event: message\ndata: {}\n\n');
  } finally {
    await server.close();
  }
});

test('the next response on a kept-alive connection is not held by the previous one', async () => {
  let calls = 0;
  const server = await serve((_req, res) => {
    calls++;
    if (calls === 1) holdResponseWrites(res, 60_000);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`answer ${calls}`);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get(server.url, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  try {
    expect(await get()).toBe('answer 1');
    await sleep(5);
    expect(await get()).toBe('answer 2');
  } finally {
    agent.destroy();
    await server.close();
  }
});

test('a large answer is not held: it leaves once it fills the socket buffer, before the response ends', async () => {
  let ended = false;
  const server = await serve((_req, res) => {
    holdResponseWrites(res, 60_000);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${'x'.repeat(1024 * 1024)}\n\n`);
    setTimeout(() => {
      ended = true;
      res.end();
    }, 60_000).unref();
  });
  const abort = new AbortController();
  try {
    const res = await fetch(server.url, { signal: abort.signal });
    const { value } = await res.body!.getReader().read();
    // Bytes arrived while the response was still open (and the 60 s hold far from over).
    expect(value!.byteLength).toBeGreaterThan(0);
    expect(ended).toBe(false);
  } finally {
    abort.abort();
    await server.close();
  }
});
