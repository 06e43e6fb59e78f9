import { jest } from '@jest/globals';
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../../src/auth/principal.js';
import { StatelessMcpDoor } from '../../../src/mcp/stateless/stateless-mcp-door.service.js';
import { SessionRegistry } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { createTestServer } from '../../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';

/**
 * The stateless door's direct path is held to the SDK: each request goes once through the direct
 * path (HTTP to the gateway) and once through the SDK's own entry (`createMcpHandler`, the door's
 * `serve`) on the same tunnel, and the two answers must agree: status, content type, and every
 * message of the body; so must what the server received. A change of the SDK's rules or encoding
 * that the direct path does not follow fails here.
 */

const REVISION = '2026-07-28';
const NAME = 'st-direct';
const USER = 'alice@example.com';
const principal: Principal = { user: USER, isAdmin: false, via: 'jwt' };

let gw: RunningGateway;
let token: string;
let tunnelled: TunnelledServer;
let door: StatelessMcpDoor;
let direct: jest.SpiedFunction<StatelessMcpDoor['serveDirect']>;

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken(USER);
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, NAME, createTestServer().server);
  door = gw.app.get(StatelessMcpDoor);
  direct = jest.spyOn(door, 'serveDirect');
});
afterAll(async () => {
  await tunnelled.close();
  await gw.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  messages: unknown[];
}

function envelope(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: REVISION,
    [CLIENT_CAPABILITIES_META_KEY]: capabilities,
    [CLIENT_INFO_META_KEY]: { name: 'differential', version: '1.0.0' },
  };
}

function headersFor(method: string, params: Record<string, unknown>): Record<string, string> {
  const name = params.name ?? params.uri;
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': REVISION,
    'mcp-method': method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
  };
}

/** The messages of a JSON body or an SSE stream, with what differs by design from run to run (the MRTR state key) masked. */
async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  const contentType = response.headers.get('content-type');
  const messages = contentType?.startsWith('text/event-stream')
    ? text
        .split('\n\n')
        .filter((block) => block.startsWith('event: message'))
        .map((block) => JSON.parse(/^data: (.*)$/m.exec(block)![1]) as unknown)
    : [JSON.parse(text) as unknown];
  return {
    status: response.status,
    contentType,
    messages: JSON.parse(JSON.stringify(messages).replace(/"requestState":"[^"]*"/g, '"requestState":"*"')),
  };
}

/** The same request through both paths; returns both answers and what the server received from each. */
async function bothWays(method: string, params: Record<string, unknown>, meta = envelope()) {
  const body = { jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: { ...meta } } };
  const headers = headersFor(method, params);
  const calls = direct.mock.calls.length;
  const before = tunnelled.received.length;
  const viaDirect = await answerOf(
    await fetch(`${gw.httpUrl}/servers/${NAME}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }),
  );
  const tookDirect = direct.mock.calls.length > calls;

  const directReceived = tunnelled.received.slice(before);
  const mid = tunnelled.received.length;
  const tunnel = gw.app.get(SessionRegistry).readyByName(NAME)!;
  const request = new Request(`${gw.httpUrl}/servers/${NAME}/mcp`, { method: 'POST', headers });
  const viaSdk = await answerOf(await door.serve(tunnel, principal, request, body));
  const sdkReceived = tunnelled.received.slice(mid);
  return { viaDirect, viaSdk, tookDirect, directReceived, sdkReceived };
}

/** What the server received, without the ids the gateway gave the calls. */
function withoutIds(messages: JSONRPCMessage[]): unknown[] {
  return JSON.parse(
    JSON.stringify(messages.map((m) => ({ ...m, id: 'id' in m ? typeof m.id : undefined }))).replace(
      /"progressToken":"gw-\d+"/g,
      '"progressToken":"gw"',
    ),
  );
}

interface Case {
  label: string;
  method: string;
  params: Record<string, unknown>;
  capabilities?: Record<string, unknown>;
  progressToken?: string;
}

const cases: Case[] = [
  { label: 'a tool call', method: 'tools/call', params: { name: 'echo', arguments: { text: 'same both ways' } } },
  { label: 'a tool call the server refuses (unknown tool)', method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } },
  { label: 'a tool call with invalid arguments', method: 'tools/call', params: { name: 'echo', arguments: { text: 42 } } },
  {
    label: 'a tool call with progress (an SSE answer)',
    method: 'tools/call',
    params: { name: 'progress', arguments: { steps: 3 } },
    progressToken: 'p-1',
  },
  { label: 'the tool list (a cacheable result)', method: 'tools/list', params: {} },
  { label: 'a resource read (a cacheable result)', method: 'resources/read', params: { uri: 'fixture://hello' } },
  { label: 'a resource the server does not have (-32002 becomes -32602)', method: 'resources/read', params: { uri: 'fixture://missing' } },
  { label: 'a prompt', method: 'prompts/get', params: { name: 'greet', arguments: { who: 'Ada' } } },
  { label: 'the prompt list', method: 'prompts/list', params: {} },
  { label: 'the resource list', method: 'resources/list', params: {} },
  { label: 'the resource template list', method: 'resources/templates/list', params: {} },
  // Before the next case: the server's question of that one stays open (its client never answers), and an
  // open question's call is where the server's next sampling request would go.
  { label: 'a sampling request, to a client that cannot', method: 'tools/call', params: { name: 'sample', arguments: { prompt: 'hi' } } },
  {
    label: 'a sampling request, to a client that can sample (input_required)',
    method: 'tools/call',
    params: { name: 'sample', arguments: { prompt: 'hi' } },
    capabilities: { sampling: {} },
  },
];

test.each(cases)('$label: the direct path answers as the SDK does', async ({ method, params, capabilities, progressToken }) => {
  const meta = { ...envelope(capabilities), ...(progressToken ? { progressToken } : {}) };
  const { viaDirect, viaSdk, tookDirect, directReceived, sdkReceived } = await bothWays(method, params, meta);
  expect(tookDirect).toBe(true);
  expect(viaDirect).toEqual(viaSdk);
  expect(withoutIds(directReceived)).toEqual(withoutIds(sdkReceived));
  // The answer is for the client's request, whichever way it went.
  expect(viaDirect.messages.at(-1)).toMatchObject({ jsonrpc: '2.0', id: 7 });
});

test('requests the direct path does not take are answered by the SDK, as before', async () => {
  const refused = direct.mock.calls.length;
  const res = await fetch(`${gw.httpUrl}/servers/${NAME}/mcp`, {
    method: 'POST',
    headers: { ...headersFor('tools/call', { name: 'echo' }), 'mcp-name': 'not-echo', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' }, _meta: envelope() },
    }),
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  expect(direct.mock.calls.length).toBe(refused);
});
