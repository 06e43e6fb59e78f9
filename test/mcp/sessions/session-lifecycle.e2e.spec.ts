import { McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { McpSessionStore } from '../../../src/mcp/sessions/mcp-session-store.service.js';
import { JsonRpcErrorCode } from '../../../src/protocol/json-rpc.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { connectStreamable, textOf } from '../../support/mcp-clients.js';
import { SseStream } from '../../support/sse.js';
import { createTestServer, type TestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';
import { initializeByHand, streamableHeaders } from '../../support/raw-mcp.js';

let gw: RunningGateway;
let token: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('alice@example.com');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => gw.close());

async function serve(name: string, options: { withPrompts?: boolean } = {}): Promise<{ tunnelled: TunnelledServer; test: TestServer }> {
  const test = createTestServer(options);
  const tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, name, test.server);
  cleanups.push(() => tunnelled.close());
  return { tunnelled, test };
}

async function client(name: string) {
  const connected = await connectStreamable(gw.httpUrl, name, token);
  cleanups.push(() => connected.client.close());
  return connected;
}

function isMethod(method: string) {
  return (m: JSONRPCMessage): boolean => 'method' in m && m.method === method;
}

/** The id the server received for the most recent call of `tool`. */
function serverIdOfLastCall(tunnelled: TunnelledServer, tool: string): unknown {
  const calls = tunnelled.received.filter((m) => isMethod('tools/call')(m) && (m as any).params?.name === tool);
  return (calls.at(-1) as any).id;
}

function cancelledFor(requestId: unknown) {
  return (m: JSONRPCMessage): boolean => isMethod('notifications/cancelled')(m) && (m as any).params?.requestId === requestId;
}

test('a client cancelling its call makes the server see notifications/cancelled with the id it knows', async () => {
  const { tunnelled, test } = await serve('cancel');
  const { client: c } = await client('cancel');
  const abort = new AbortController();
  const call = c.callTool({ name: 'hold', arguments: {} }, undefined, { signal: abort.signal });
  const held = await test.nextHeld();
  const serverId = serverIdOfLastCall(tunnelled, 'hold');
  expect(serverId).toMatch(/^gw-\d+$/);
  abort.abort('changed my mind');
  await expect(call).rejects.toThrow();
  await tunnelled.waitFor(cancelledFor(serverId));
  await held.aborted;
  // The session is still usable.
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here');
});

test('ending the session mid-call (DELETE) cancels its call at the server', async () => {
  const { tunnelled, test } = await serve('delete');
  const { client: c, transport } = await client('delete');
  const call = c.callTool({ name: 'hold', arguments: {} }).catch((err: unknown) => err);
  const held = await test.nextHeld();
  const serverId = serverIdOfLastCall(tunnelled, 'hold');
  const sessionId = transport.sessionId!;
  await transport.terminateSession();
  await tunnelled.waitFor(cancelledFor(serverId));
  await held.aborted;
  const after = await fetch(`${gw.httpUrl}/servers/delete/mcp`, {
    method: 'POST',
    headers: mcpHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  expect(after.status).toBe(404);
  await c.close();
  await call;
});

test('a tunnel that drops fails the calls in flight on it at once', async () => {
  const { tunnelled, test } = await serve('drop');
  const { client: c } = await client('drop');
  const call = c.callTool({ name: 'hold', arguments: {} });
  await test.nextHeld();
  await tunnelled.close();
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  expect((err as McpError).code).toBe(JsonRpcErrorCode.TunnelClosed);
  // With nothing serving the name, requests fail fast with the same code.
  await expect(c.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toMatchObject({ code: JsonRpcErrorCode.TunnelClosed });
});

test('a tunnel restarting under the same name keeps the client sessions working', async () => {
  const first = await serve('restart');
  const { client: c, transport } = await client('restart');
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
  const sessionId = transport.sessionId;
  await first.tunnelled.close();
  const second = await serve('restart');
  expect(second.tunnelled.sessionId).not.toBe(first.tunnelled.sessionId);
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
  expect(transport.sessionId).toBe(sessionId);
  // The new server never saw a client's handshake, only its own tunnel's.
  expect(second.tunnelled.received.filter(isMethod('initialize'))).toHaveLength(1);
});

test('a server re-registering with different capabilities ends the old sessions (404, re-initialize)', async () => {
  await serve('changing');
  const { client: c, transport } = await client('changing');
  await c.listPrompts();
  const sessionId = transport.sessionId!;
  // Same owner takes the name over; this server has no prompts.
  await serve('changing', { withPrompts: false });
  const res = await fetch(`${gw.httpUrl}/servers/changing/mcp`, {
    method: 'POST',
    headers: mcpHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  expect(res.status).toBe(404);
  const { client: fresh } = await client('changing');
  expect(fresh.getServerCapabilities()?.prompts).toBeUndefined();
});

test('an SSE response stream cut mid-call is resumed with Last-Event-ID', async () => {
  const { test } = await serve('resume');
  const { transport } = await client('resume');
  const sessionId = transport.sessionId!;
  const url = `${gw.httpUrl}/servers/resume/mcp`;
  const cut = new AbortController();
  const post = await fetch(url, {
    method: 'POST',
    headers: mcpHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: 'hold', arguments: {} } }),
    signal: cut.signal,
  });
  expect(post.headers.get('content-type')).toContain('text/event-stream');
  const priming = await SseStream.from(post).next((e) => e.id !== undefined);
  cut.abort();
  const held = await test.nextHeld();

  // Until the gateway has noticed the cut, the stream counts as connected (409); then it resumes.
  let resumed: Response | undefined;
  for (let attempt = 0; attempt < 100 && !resumed; attempt++) {
    const res = await fetch(url, {
      method: 'GET',
      headers: { ...mcpHeaders(sessionId), Accept: 'text/event-stream', 'Last-Event-ID': priming.id! },
    });
    if (res.status === 409) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    expect(res.status).toBe(200);
    resumed = res;
  }
  held.release('delivered after resume');
  const stream = SseStream.from(resumed!);
  const event = await stream.next((e) => e.data.includes('"r1"'));
  await stream.close();
  expect(JSON.parse(event.data)).toMatchObject({ id: 'r1', result: { content: [{ type: 'text', text: 'delivered after resume' }] } });
});

function mcpHeaders(sessionId: string): Record<string, string> {
  return {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': sessionId,
    'MCP-Protocol-Version': '2025-11-25',
  };
}

describe('with a short idle timeout', () => {
  let idleGw: RunningGateway;
  let tunnelled: TunnelledServer;
  beforeAll(async () => {
    idleGw = await startGateway({ MCP_SESSION_IDLE_TIMEOUT_MS: '1000' });
    tunnelled = await serveThroughTunnel(idleGw.tunnelUrl, idleGw.mintToken('alice@example.com'), 'idle', createTestServer().server);
  });
  afterAll(async () => {
    await tunnelled.close();
    await idleGw.close();
  });

  const auth = () => ({ Authorization: `Bearer ${idleGw.mintToken('alice@example.com')}` });

  test('an idle session expires and then answers 404', async () => {
    const url = `${idleGw.httpUrl}/servers/idle/mcp`;
    const { response: init, sessionHeaders } = await initializeByHand(
      url,
      streamableHeaders(idleGw.mintToken('alice@example.com')),
      '2025-06-18',
    );
    expect(init.status).toBe(200);
    const sessionId = sessionHeaders['Mcp-Session-Id'];
    const answer = await SseStream.from(init).next((e) => e.data.includes('"result"'));
    expect(JSON.parse(answer.data).result.protocolVersion).toBe('2025-06-18');
    // Polled in-process: any HTTP probe would count as activity and keep the session alive.
    const store = idleGw.app.get(McpSessionStore);
    expect(store.get(sessionId)).toBeDefined();
    while (store.get(sessionId)) await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        ...auth(),
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(404);
  });
});
