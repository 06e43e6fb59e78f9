import { startGateway, type RunningGateway } from '../support/gateway.js';
import { streamableHeaders } from '../support/raw-mcp.js';
import { createTestServer, type TestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';

/**
 * The MCP door's direct way (`DirectAnswers`): one request in an existing session, answered past the
 * SDK's transport. Seen as a client sees it: JSON for a quick answer, the SDK's SSE stream otherwise,
 * and the transport's own answers for anything the direct way does not take.
 */
let gw: RunningGateway;
let token: string;
let fixture: TestServer;
let tunnelled: TunnelledServer;
let url: string;

beforeAll(async () => {
  gw = await startGateway({ SSE_KEEPALIVE_MS: '600000', MCP_ANSWER_WAIT_MS: '50' });
  token = gw.mintToken('direct@example.com');
  fixture = createTestServer();
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'direct', fixture.server);
  url = `${gw.httpUrl}/servers/direct/mcp`;
});
afterAll(async () => {
  await tunnelled.close();
  await gw.close();
});

/** A session of the 2025-11-25 revision declaring `capabilities`, initialized and ready for requests. */
async function session(capabilities: Record<string, unknown> = {}): Promise<Record<string, string>> {
  const response = await post(streamableHeaders(token), {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1' } },
  });
  await response.text();
  const sessionHeaders = {
    ...streamableHeaders(token),
    'Mcp-Session-Id': response.headers.get('mcp-session-id') ?? '',
    'MCP-Protocol-Version': '2025-11-25',
  };
  const init = await post(sessionHeaders, { jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(init.status).toBe(202);
  return sessionHeaders;
}

function post(headers: Record<string, string>, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
}

const call = (id: string | number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
});

/** The `data:` payloads of an SSE body, parsed (priming events, which carry none, left out). */
function messagesOf(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)));
}

/** The answer of a POST, whichever form it took (JSON, or the last message of its SSE stream). */
async function answerOf(res: Response): Promise<Record<string, any> | undefined> {
  const text = await res.text();
  return res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : messagesOf(text).at(-1);
}

test('a quick answer is one JSON body with the id the client gave, numeric or string', async () => {
  const headers = await session();
  for (const id of [41, 'forty-two']) {
    const res = await post(headers, call(id, 'echo', { text: `hi ${id}` }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('mcp-session-id')).toBe(headers['Mcp-Session-Id']);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `hi ${id}` }] } });
  }
});

test('a Content-Type with a charset takes the direct way too', async () => {
  const headers = await session();
  const res = await post({ ...headers, 'Content-Type': 'application/json; charset=utf-8' }, call(5, 'echo', { text: 'utf-8' }));
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(await res.json()).toMatchObject({ id: 5, result: { content: [{ text: 'utf-8' }] } });
});

test('progress turns the answer into an SSE stream: priming event, progress under the client token, the answer last', async () => {
  const headers = await session();
  const res = await post(headers, call(3, 'progress', { steps: 3 }, { progressToken: 'mine' }));
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  expect(text.startsWith('id: ')).toBe(true); // the priming event comes first
  const messages = messagesOf(text);
  expect(messages.slice(0, 3).map((m) => [m.method, m.params.progressToken, m.params.progress])).toEqual([
    ['notifications/progress', 'mine', 1],
    ['notifications/progress', 'mine', 2],
    ['notifications/progress', 'mine', 3],
  ]);
  expect(messages[3]).toEqual({ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'done 3' }] } });
});

test("a server's request during the call travels on the call's stream, and the client's answer (its own POST) completes it", async () => {
  const headers = await session({ sampling: {} });
  const res = await post(headers, call('s1', 'sample', { prompt: 'hello?' }));
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let ask: Record<string, any> | undefined;
  while (!ask) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before the server's request: ${text}`);
    text += value;
    ask = messagesOf(text).find((m) => m.method === 'sampling/createMessage');
  }
  const answered = await post(headers, {
    jsonrpc: '2.0',
    id: ask.id,
    result: { role: 'assistant', content: { type: 'text', text: 'sure' }, model: 'test' },
  });
  expect(answered.status).toBe(202);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  expect(messagesOf(text).at(-1)).toEqual({ jsonrpc: '2.0', id: 's1', result: { content: [{ type: 'text', text: 'sampled: sure' }] } });
});

test('a second request with the id of one still in flight is refused (400) and the first still gets its answer', async () => {
  const headers = await session();
  const first = post(headers, call('dup', 'hold'));
  const held = await fixture.nextHeld();
  const second = await post(headers, call('dup', 'echo', { text: 'x' }));
  expect(second.status).toBe(400);
  expect(((await second.json()) as any).error.code).toBe(-32600);
  held.release('first');
  expect(await answerOf(await first)).toMatchObject({ id: 'dup', result: { content: [{ text: 'first' }] } });
});

test('ending the session ends a call stream still open, and the server is told to stop', async () => {
  const headers = await session();
  const pending = post(headers, call('long', 'hold'));
  const held = await fixture.nextHeld();
  const res = await pending;
  const { 'Content-Type': _json, ...withoutBody } = headers;
  const deleted = await fetch(url, { method: 'DELETE', headers: withoutBody });
  expect(deleted.status).toBe(200);
  expect(messagesOf(await res.text())).toEqual([]);
  await held.aborted;
});

test('a call the client cancels ends its stream without an answer, and the server is told to stop', async () => {
  const headers = await session();
  const pending = post(headers, call('gone', 'hold'));
  const held = await fixture.nextHeld();
  const res = await pending;
  const cancel = await post(headers, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gone' } });
  expect(cancel.status).toBe(202);
  await held.aborted;
  // MCP: no answer follows a cancellation; the stream ends rather than stay open for nothing.
  expect(messagesOf(await res.text())).toEqual([]);
});

describe('what the direct way does not take is answered by the transport, by its rules', () => {
  test('a batch of two requests: both answers, on one stream', async () => {
    const headers = await session();
    const res = await post(headers, [call(1, 'echo', { text: 'a' }), call(2, 'echo', { text: 'b' })]);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const answers = messagesOf(await res.text());
    expect(answers.map((m) => m.id).sort()).toEqual([1, 2]);
  });

  test('an Accept without text/event-stream: 406', async () => {
    const headers = await session();
    const res = await post({ ...headers, Accept: 'application/json' }, call(1, 'echo', { text: 'a' }));
    expect(res.status).toBe(406);
  });

  test('an unsupported MCP-Protocol-Version: 400', async () => {
    const headers = await session();
    const res = await post({ ...headers, 'MCP-Protocol-Version': '1999-01-01' }, call(1, 'echo', { text: 'a' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toContain('Unsupported protocol version');
  });

  test('a message the JSON-RPC schema refuses (an extra key): 400, never sent to the server', async () => {
    const headers = await session();
    const res = await post(headers, { ...call(1, 'echo', { text: 'a' }), extra: true });
    expect(res.status).toBe(400);
  });

  test('an unknown session: 404', async () => {
    const headers = await session();
    const res = await post({ ...headers, 'Mcp-Session-Id': 'no-such-session' }, call(1, 'echo', { text: 'a' }));
    expect(res.status).toBe(404);
  });
});

describe('with MCP_ANSWER_WAIT_MS=0', () => {
  let always: RunningGateway;
  let alwaysTunnel: TunnelledServer;
  beforeAll(async () => {
    always = await startGateway({ MCP_ANSWER_WAIT_MS: '0' });
    alwaysTunnel = await serveThroughTunnel(always.tunnelUrl, always.mintToken('direct@example.com'), 'direct', createTestServer().server);
  });
  afterAll(async () => {
    await alwaysTunnel.close();
    await always.close();
  });

  test('every answer is an SSE stream with a priming event, even a quick one', async () => {
    const token = always.mintToken('direct@example.com');
    const init = await fetch(`${always.httpUrl}/servers/direct/mcp`, {
      method: 'POST',
      headers: streamableHeaders(token),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    await init.text();
    const sessionHeaders = {
      ...streamableHeaders(token),
      'Mcp-Session-Id': init.headers.get('mcp-session-id')!,
      'MCP-Protocol-Version': '2025-11-25',
    };
    const res = await fetch(`${always.httpUrl}/servers/direct/mcp`, {
      method: 'POST',
      headers: sessionHeaders,
      body: JSON.stringify(call(1, 'echo', { text: 'sse' })),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.startsWith('id: ')).toBe(true);
    expect(messagesOf(text)).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'sse' }] } }]);
  });
});
