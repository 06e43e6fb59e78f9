import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toWebRequest, writeWebResponse } from '../../src/mcp/web-exchange.js';
import { eventually } from '../support/wait.js';

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
    done = writeWebResponse(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' } }), res);
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
  const server = await serve((_req, res) => void writeWebResponse(new Response(null, { status: 202 }), res));
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
    done = writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res);
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
