import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { toWebRequest, writeWebResponse } from '../../../src/mcp/http/web-exchange.js';
import { eventually } from '../../support/wait.js';

const LIMITS = { maxBufferedBytes: 1024 * 1024, maxBacklog: 256 };

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('the Web request carries the method, the URL and every header, repeated ones included', async () => {
  let seen: Request | undefined;
  const server = await serve((req, res) => {
    seen = toWebRequest(req);
    res.end();
  });
  try {
    const port = new URL(server.url).port;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${server.url}/servers/echo/mcp?x=1`, {
        method: 'POST',
        headers: { 'Mcp-Session-Id': 'abc', Accept: 'application/json, text/event-stream', 'X-Twice': ['a', 'b'] },
      });
      req.on('response', (res) => res.resume().on('end', resolve)).on('error', reject);
      req.end();
    });
    expect(seen!.method).toBe('POST');
    expect(seen!.url).toBe(`http://127.0.0.1:${port}/servers/echo/mcp?x=1`);
    expect(seen!.headers.get('mcp-session-id')).toBe('abc');
    expect(seen!.headers.get('accept')).toBe('application/json, text/event-stream');
    expect(seen!.headers.get('x-twice')).toBe('a, b');
  } finally {
    await server.close();
  }
});

test('a Host header that is not a host name does not break the request', async () => {
  let url: string | undefined;
  const server = await serve((req, res) => {
    req.headers.host = 'bad host/with space';
    url = toWebRequest(req).url;
    res.end();
  });
  try {
    await (await fetch(`${server.url}/x`)).text();
    expect(url).toBe('http://localhost/x');
  } finally {
    await server.close();
  }
});

test('status, headers and a streamed body reach the client as they are produced', async () => {
  let push!: (text: string) => void;
  let finish!: () => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const encoder = new TextEncoder();
      push = (text) => controller.enqueue(encoder.encode(text));
      finish = () => controller.close();
    },
  });
  let done: Promise<void> | undefined;
  const server = await serve((_req, res) => {
    done = writeWebResponse(
      new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' } }),
      res,
      LIMITS,
    );
  });
  try {
    push('data: 1\n\n');
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('mcp-session-id')).toBe('s1');
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    push('data: 2\n\n');
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 2\n\n');
    finish();
    expect((await reader.read()).done).toBe(true);
    await done;
  } finally {
    await server.close();
  }
});

test('a response without a body is just its status and headers', async () => {
  const server = await serve((_req, res) => void writeWebResponse(new Response(null, { status: 202 }), res, LIMITS));
  try {
    const res = await fetch(server.url);
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
  } finally {
    await server.close();
  }
});

test('a client that goes away cancels the stream, so its producer learns of it', async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('data: first\n\n'));
    },
    cancel() {
      cancelled = true;
    },
  });
  let done: Promise<void> | undefined;
  const server = await serve((_req, res) => {
    done = writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res, LIMITS);
  });
  try {
    const abort = new AbortController();
    const res = await fetch(server.url, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await eventually(() => cancelled, 'the stream to be cancelled');
    await done;
    expect(cancelled).toBe(true);
  } finally {
    await server.close();
  }
});

test('an event stream sends its headers at once, before its first event', async () => {
  const body = new ReadableStream<Uint8Array>({});
  const server = await serve(
    (_req, res) => void writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res, LIMITS),
  );
  try {
    const abort = new AbortController();
    // Nothing is ever produced: the headers cannot be waiting for an event.
    const res = await fetch(server.url, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    abort.abort();
  } finally {
    await server.close();
  }
});

/**
 * A client that sends its request and never reads a byte; the transport behind it keeps producing
 * 64 KiB events, ignoring backpressure as the SDK's streams do. Reports the most the gateway ever
 * held for it: the response's queued bytes plus the bytes waiting in the Web stream's queue.
 */
async function nonReader(limits: typeof LIMITS, events: number): Promise<{ peakHeld: number; cancelled: boolean; destroyed: boolean }> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let cancelled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  // Byte-measured queue with no room: desiredSize is minus the bytes queued.
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => void (controller = c),
      cancel: () => void (cancelled = true),
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
  );
  let response: ServerResponse | undefined;
  let done: Promise<void> | undefined;
  const server = await serve((_req, res) => {
    response = res;
    done = writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res, limits);
  });
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
  socket.pause();
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  let peakHeld = 0;
  try {
    await eventually(() => response, 'the request');
    for (let i = 0; i < events && !cancelled; i++) {
      try {
        controller.enqueue(chunk);
      } catch {
        break; // cancelled meanwhile
      }
      await new Promise((resolve) => setImmediate(resolve));
      peakHeld = Math.max(peakHeld, response!.writableLength + Math.max(0, -(controller.desiredSize ?? 0)));
    }
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 200))]);
    return { peakHeld, cancelled, destroyed: response!.destroyed };
  } finally {
    socket.destroy();
    await server.close();
  }
}

test('a client that stops reading is cut off once its backlog passes the byte bound; the stream is cancelled', async () => {
  const limits = { maxBufferedBytes: 512 * 1024, maxBacklog: 100_000 };
  // 32 MiB offered to a client that reads nothing.
  const { peakHeld, cancelled, destroyed } = await nonReader(limits, 512);
  expect(destroyed).toBe(true);
  expect(cancelled).toBe(true);
  // The bound plus the one event being written, never the whole 32 MiB.
  expect(peakHeld).toBeLessThanOrEqual(limits.maxBufferedBytes + 64 * 1024);
});

test('a client that stops reading is cut off after maxBacklog writes in a row while backed up', async () => {
  const limits = { maxBufferedBytes: 1024 * 1024 * 1024, maxBacklog: 8 };
  const { peakHeld, cancelled, destroyed } = await nonReader(limits, 512);
  expect(destroyed).toBe(true);
  expect(cancelled).toBe(true);
  // Backed up from the first 64 KiB write on (a socket's buffer is smaller), then 8 more.
  expect(peakHeld).toBeLessThanOrEqual(10 * 64 * 1024);
});

test('a client that reads keeps its stream however much passes through', async () => {
  const chunk = new TextEncoder().encode(`data: ${'y'.repeat(64 * 1024)}\n\n`);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const server = await serve(
    (_req, res) =>
      void writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res, {
        maxBufferedBytes: 256 * 1024,
        maxBacklog: 4,
      }),
  );
  try {
    const res = await fetch(server.url);
    const reader = res.body!.getReader();
    let received = 0;
    for (let i = 0; i < 64; i++) {
      controller.enqueue(chunk);
      // A reader that keeps up: takes what was sent before more comes.
      while (received < (i + 1) * chunk.byteLength) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        received += value.byteLength;
      }
    }
    controller.close();
    expect((await reader.read()).done).toBe(true);
    expect(received).toBe(64 * chunk.byteLength);
  } finally {
    await server.close();
  }
});
