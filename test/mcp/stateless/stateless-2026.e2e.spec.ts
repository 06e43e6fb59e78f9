import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { SseStream } from '../../support/sse.js';
import { connectStreamable, textOf } from '../../support/mcp-clients.js';
import { createTestServer, type TestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';

const REVISION = '2026-07-28';

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

async function serve(name: string): Promise<{ tunnelled: TunnelledServer; test: TestServer }> {
  const test = createTestServer();
  const tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, name, test.server);
  cleanups.push(() => tunnelled.close());
  return { tunnelled, test };
}

/** The official v2 SDK client, pinned to the stateless revision (connect probes with server/discover). */
async function modernClient(
  name: string,
  capabilities: Record<string, unknown> = {},
  mode: 'auto' | 'legacy' | { pin: string } = { pin: REVISION },
): Promise<Client> {
  const client = new Client({ name: 'modern-client', version: '2.0.0' }, { capabilities, versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.httpUrl}/servers/${name}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

const envelope = { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientCapabilities': {} };

/** A hand-built 2026-07-28 request: envelope in `_meta`, the routing headers derived from the body unless overridden. */
function modernPost(
  name: string,
  id: number | string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  const routing: Record<string, string> = { 'MCP-Protocol-Version': REVISION, 'Mcp-Method': method };
  if (typeof params.name === 'string') routing['Mcp-Name'] = params.name;
  return fetch(`${gw.httpUrl}/servers/${name}/mcp`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...routing,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope } }),
    signal,
  });
}

function isMethod(method: string) {
  return (m: JSONRPCMessage): boolean => 'method' in m && m.method === method;
}

function callsOf(tunnelled: TunnelledServer, tool: string): any[] {
  return tunnelled.received.filter((m) => isMethod('tools/call')(m) && (m as any).params?.name === tool);
}

test('server/discover is answered by the gateway from what the tunnel registered', async () => {
  const { tunnelled } = await serve('st-discover');
  const res = await modernPost('st-discover', 1, 'server/discover');
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.id).toBe(1);
  expect(body.result.supportedVersions).toContain(REVISION);
  expect(body.result.resultType).toBe('complete');
  // The 2026 revision identifies the server in every result's _meta.
  expect(body.result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'test-server', version: '1.0.0' });
  expect(body.result.capabilities.tools).toBeDefined();
  expect(body.result.instructions).toBe('A server for the MCP door tests.');
  expect(res.headers.get('mcp-session-id')).toBeNull();
  // The server was initialized once by its tunnel and never sees a client's discover.
  expect(tunnelled.received.filter(isMethod('server/discover'))).toHaveLength(0);
  expect(tunnelled.received.filter(isMethod('initialize'))).toHaveLength(1);

  const client = await modernClient('st-discover');
  expect(client.getServerVersion()).toMatchObject({ name: 'test-server', version: '1.0.0' });
  expect(client.getInstructions()).toBe('A server for the MCP door tests.');
});

test('the v2 SDK client lists and calls tools, reads resources and gets prompts through the tunnel, with ids rewritten', async () => {
  const { tunnelled } = await serve('st-call');
  const client = await modernClient('st-call');
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'hold', 'sample']));
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over 2026' } }))).toBe('over 2026');
  const [call] = callsOf(tunnelled, 'echo');
  expect(call.id).toMatch(/^gw-\d+$/);
  // The envelope stays at the gateway: a 2025 server must not see 2026 `_meta` keys.
  expect(JSON.stringify(call.params)).not.toContain('io.modelcontextprotocol/protocolVersion');
  const read = await client.readResource({ uri: 'fixture://hello' });
  expect((read.contents[0] as { text?: string }).text).toBe('hello from the fixture');
  const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } });
  expect((prompt.messages[0].content as { text?: string }).text).toBe('Hello, Ada!');
});

test('the v2 client negotiates 2026-07-28 in auto mode, and falls back to a 2025 session in its default legacy mode', async () => {
  const { tunnelled } = await serve('st-negotiate');
  const auto = await modernClient('st-negotiate', {}, 'auto');
  expect(auto.getNegotiatedProtocolVersion()).toBe(REVISION);
  expect(textOf(await auto.callTool({ name: 'echo', arguments: { text: 'auto' } }))).toBe('auto');
  const legacy = await modernClient('st-negotiate', {}, 'legacy');
  expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
  expect(textOf(await legacy.callTool({ name: 'echo', arguments: { text: 'legacy' } }))).toBe('legacy');
  expect(callsOf(tunnelled, 'echo').map((c) => c.params.arguments.text)).toEqual(['auto', 'legacy']);
});

test('Mcp-Method or Mcp-Name that disagree with the body are refused with 400 and never reach the server', async () => {
  const { tunnelled } = await serve('st-headers');
  const wrongMethod = await modernPost(
    'st-headers',
    1,
    'tools/call',
    { name: 'echo', arguments: { text: 'x' } },
    { 'Mcp-Method': 'tools/list' },
  );
  expect(wrongMethod.status).toBe(400);
  expect(((await wrongMethod.json()) as any).error.code).toEqual(expect.any(Number));
  const wrongName = await modernPost('st-headers', 2, 'tools/call', { name: 'echo', arguments: { text: 'x' } }, { 'Mcp-Name': 'hold' });
  expect(wrongName.status).toBe(400);
  expect(callsOf(tunnelled, 'echo')).toHaveLength(0);
  expect(callsOf(tunnelled, 'hold')).toHaveLength(0);
});

test('a request naming the 2026 revision in its header without the _meta envelope is refused (400), not taken for a 2025 one', async () => {
  await serve('st-noenvelope');
  const res = await http('POST', `${gw.httpUrl}/servers/st-noenvelope/mcp`, {
    token,
    headers: { 'MCP-Protocol-Version': REVISION, 'Mcp-Method': 'tools/list', Accept: 'application/json, text/event-stream' },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
  });
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe(-32602);
});

test('an envelope naming a revision the gateway does not serve, or disagreeing with the header, is refused with 400', async () => {
  const { tunnelled } = await serve('st-version');
  const post = (headerVersion: string, envelopeVersion: string) =>
    http('POST', `${gw.httpUrl}/servers/st-version/mcp`, {
      token,
      headers: { 'MCP-Protocol-Version': headerVersion, 'Mcp-Method': 'tools/list', Accept: 'application/json, text/event-stream' },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { _meta: { ...envelope, 'io.modelcontextprotocol/protocolVersion': envelopeVersion } },
      },
    });
  const unknown = await post('2099-01-01', '2099-01-01');
  expect(unknown.status).toBe(400);
  expect(JSON.stringify(unknown.body.error)).toContain(REVISION);
  const mismatch = await post('2025-11-25', REVISION);
  expect(mismatch.status).toBe(400);
  expect(tunnelled.received.filter(isMethod('tools/list'))).toHaveLength(0);
});

test('GET and DELETE without a session are not part of the 2026 revision: 405; a 2025 client still gets 400 for them', async () => {
  await serve('st-methods');
  for (const method of ['GET', 'DELETE']) {
    const modern = await http(method, `${gw.httpUrl}/servers/st-methods/mcp`, { token, headers: { 'MCP-Protocol-Version': REVISION } });
    expect(modern.status).toBe(405);
    expect(modern.headers.get('allow')).toBe('POST');
    const legacy = await http(method, `${gw.httpUrl}/servers/st-methods/mcp`, { token, headers: { 'MCP-Protocol-Version': '2025-06-18' } });
    expect(legacy.status).toBe(400);
  }
});

test('two stateless clients using the same request ids get their own answers, many rounds', async () => {
  await serve('st-ids');
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(
      ['left', 'right'].map(async (who) => {
        const res = await modernPost('st-ids', 7, 'tools/call', { name: 'echo', arguments: { text: `${who}-${round}` } });
        return { who, body: (await res.json()) as any };
      }),
    );
    for (const { who, body } of answers) {
      expect(body.id).toBe(7);
      expect(body.result.content[0].text).toBe(`${who}-${round}`);
    }
  }
});

test('closing the request stream mid-call cancels the call at the server (notifications/cancelled with the id it knows)', async () => {
  const { tunnelled, test } = await serve('st-cancel');
  const abort = new AbortController();
  const pending = modernPost('st-cancel', 1, 'tools/call', { name: 'hold', arguments: {} }, {}, abort.signal).catch(() => 'aborted');
  const held = await test.nextHeld();
  const serverId = callsOf(tunnelled, 'hold')[0].id;
  expect(serverId).toMatch(/^gw-\d+$/);
  abort.abort();
  await expect(pending).resolves.toBe('aborted');
  const cancelled = await tunnelled.waitFor((m) => isMethod('notifications/cancelled')(m) && (m as any).params?.requestId === serverId);
  expect((cancelled as any).params.requestId).toBe(serverId);
  await held.aborted;
});

test('a call that completes is not cancelled afterwards', async () => {
  const { tunnelled } = await serve('st-nocancel');
  const res = await modernPost('st-nocancel', 1, 'tools/call', { name: 'echo', arguments: { text: 'done' } });
  expect(((await res.json()) as any).result.content[0].text).toBe('done');
  // A later call through the same tunnel orders after anything the first exchange could have sent.
  const again = await modernPost('st-nocancel', 2, 'tools/call', { name: 'echo', arguments: { text: 'again' } });
  expect(((await again.json()) as any).result.content[0].text).toBe('again');
  expect(tunnelled.received.filter(isMethod('notifications/cancelled'))).toHaveLength(0);
});

test('a 2025-era session client and a 2026 stateless client use the same URL at the same time', async () => {
  const { test } = await serve('st-both');
  const { client: legacy } = await connectStreamable(gw.httpUrl, 'st-both', token);
  cleanups.push(() => legacy.close());
  const modern = await modernClient('st-both');
  // The 2025 call is held in flight while the 2026 client works.
  const held = legacy.callTool({ name: 'hold', arguments: {} });
  const call = await test.nextHeld();
  expect(textOf(await modern.callTool({ name: 'echo', arguments: { text: 'modern' } }))).toBe('modern');
  expect(textOf(await legacy.callTool({ name: 'echo', arguments: { text: 'legacy' } }))).toBe('legacy');
  call.release('released');
  expect(textOf(await held)).toBe('released');
});

test('progress reaches the stateless caller on its own request stream, with its own token', async () => {
  await serve('st-progress');
  const client = await modernClient('st-progress');
  const seen: number[] = [];
  const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, { onprogress: (p) => seen.push(p.progress) });
  expect(textOf(result)).toBe('done 3');
  expect(seen).toEqual([1, 2, 3]);
});

test('sampling asked by the server travels to the 2026 client as input_required, and its answer goes back to the server', async () => {
  const { tunnelled } = await serve('st-sample');
  const client = await modernClient('st-sample', { sampling: {} });
  const prompts: string[] = [];
  client.setRequestHandler('sampling/createMessage', async (request) => {
    const content = request.params.messages[0].content as { text?: string };
    prompts.push(content.text ?? '');
    return { role: 'assistant', content: { type: 'text', text: 'from the model' }, model: 'test-model' };
  });
  const result = await client.callTool({ name: 'sample', arguments: { prompt: 'hello?' } });
  expect(textOf(result)).toBe('sampled: from the model');
  expect(prompts).toEqual(['hello?']);
  // One tools/call reached the server; the retry resumed it instead of calling again.
  expect(callsOf(tunnelled, 'sample')).toHaveLength(1);
});

test('the raw input_required round: requestState resumes the call only for its user', async () => {
  const { tunnelled } = await serve('st-mrtr');
  const params = { name: 'sample', arguments: { prompt: 'raw?' } };
  const meta = { ...envelope, 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } };
  const post = (body: unknown, as = token) =>
    fetch(`${gw.httpUrl}/servers/st-mrtr/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${as}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': REVISION,
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'sample',
      },
      body: JSON.stringify(body),
    });
  const first = (await (await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { ...params, _meta: meta } })).json()) as any;
  expect(first.result.resultType).toBe('input_required');
  const [key] = Object.keys(first.result.inputRequests);
  expect(first.result.inputRequests[key].method).toBe('sampling/createMessage');
  const state = first.result.requestState as string;
  expect(typeof state).toBe('string');

  const retry = {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: {
      ...params,
      _meta: meta,
      requestState: state,
      inputResponses: { [key]: { role: 'assistant', content: { type: 'text', text: 'raw answer' }, model: 'm' } },
    },
  };
  // Someone else presenting the state gets nothing of the call.
  const bob = (await (await post(retry, gw.mintToken('bob@example.com'))).json()) as any;
  expect(bob.error).toBeDefined();
  const second = (await (await post(retry)).json()) as any;
  expect(second.id).toBe(2);
  expect(second.result.content[0].text).toBe('sampled: raw answer');
  expect(callsOf(tunnelled, 'sample')).toHaveLength(1);
});

test('a server request the 2026 client did not declare a capability for gets the server an error, not silence', async () => {
  await serve('st-nocap');
  const client = await modernClient('st-nocap');
  const result = await client.callTool({ name: 'sample', arguments: { prompt: 'anyone?' } });
  expect(textOf(result)).toMatch(/^sampling failed/);
});

test('another user gets 403 for a stateless request on a server they do not own', async () => {
  await serve('st-owned');
  const res = await fetch(`${gw.httpUrl}/servers/st-owned/mcp`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${gw.mintToken('bob@example.com')}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': REVISION,
      'Mcp-Method': 'tools/list',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } }),
  });
  expect(res.status).toBe(403);
});

test('list_changed from the server reaches a subscriptions/listen stream of that name only', async () => {
  await serve('st-listen');
  await serve('st-listen-other');
  const open = async (name: string, notifications: Record<string, unknown>) => {
    const res = await modernPost(name, 'listen-1', 'subscriptions/listen', { notifications });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const stream = SseStream.from(res);
    cleanups.push(() => stream.close());
    // The stream opens with its acknowledgement, so the subscription is in place from here on.
    await stream.next((e) => JSON.parse(e.data).method === 'notifications/subscriptions/acknowledged');
    return stream;
  };
  const listener = await open('st-listen', { toolsListChanged: true });
  const other = await open('st-listen-other', { toolsListChanged: true, resourceSubscriptions: ['fixture://marker'] });
  const announce = await modernPost('st-listen', 1, 'tools/call', { name: 'announce', arguments: {} });
  expect(((await announce.json()) as any).result.content[0].text).toBe('announced');
  const changed = await listener.next((e) => JSON.parse(e.data).method === 'notifications/tools/list_changed');
  expect(JSON.parse(changed.data).method).toBe('notifications/tools/list_changed');
  // The other name's server now reports an update: it is the first thing that stream carries,
  // so the first server's list_changed (already delivered above) never went there.
  const touch = await modernPost('st-listen-other', 1, 'tools/call', { name: 'touch', arguments: { uri: 'fixture://marker' } });
  expect(((await touch.json()) as any).result.content[0].text).toBe('touched');
  const first = JSON.parse((await other.next()).data);
  expect(first.method).toBe('notifications/resources/updated');
  expect(first.params.uri).toBe('fixture://marker');
});

test('when the tunnel drops, a stateless call in flight fails at once (-32000: the revision gives -32002 to resource-not-found)', async () => {
  const { tunnelled, test } = await serve('st-drop');
  const pending = modernPost('st-drop', 1, 'tools/call', { name: 'hold', arguments: {} }).then((r) => r.json() as Promise<any>);
  await test.nextHeld();
  await tunnelled.close();
  const answer = await pending;
  expect(answer.id).toBe(1);
  expect(answer.error.code).toBe(-32000);
  expect(answer.error.data).toEqual({ reason: 'server-not-connected' });
});
