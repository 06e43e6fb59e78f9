import { FakeTunnel, closeTunnels, type Frame } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectLegacySse, connectStreamable } from '../support/mcp-clients.js';

// GET /reverse-proxy/sessions/:id/stats over real tunnels: every door's calls are counted where they
// end, errors included, in 10 s points over the last 10 minutes.
let gw: RunningGateway;
let alice: string;
const tunnels: FakeTunnel[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  gw = await startGateway();
  alice = gw.mintToken('alice@example.com');
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await closeTunnels(tunnels);
});
afterAll(() => gw.close());

/** A tunnel that answers `fail` with a JSON-RPC error, `hang` never, and anything else with a result. */
async function serve(name: string): Promise<string> {
  const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, alice, { name, version: '1.0.0', capabilities: { tools: {} } });
  tunnels.push(tunnel);
  tunnel.autoAnswer((payload: Frame) => {
    if (payload.method === 'hang') return undefined;
    if (payload.method === 'tools/call' && payload.params?.name === 'fail') return { error: { code: -32602, message: 'Unknown tool' } };
    if (payload.method === 'tools/list') return { result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] } };
    return { result: { content: [{ type: 'text', text: 'ok' }] } };
  });
  return sessionId;
}

const stats = async (sessionId: string, token = alice) => http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`, { token });
const rest = (sessionId: string, body: Frame, query = '') =>
  http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request${query}`, { token: alice, body });
const sum = (points: { calls: number }[]) => points.reduce((n, p) => n + p.calls, 0);

test('a fresh session has 60 empty points of 10 s, oldest first, and zero totals', async () => {
  const sessionId = await serve('stats-fresh');
  const res = await stats(sessionId);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ session_id: sessionId, interval_s: 10, window_s: 600, calls_total: 0, errors_total: 0 });
  const { points } = res.body;
  expect(points).toHaveLength(60);
  expect(points.every((p: Frame, i: number) => i === 0 || p.t - points[i - 1].t === 10_000)).toBe(true);
  expect(points.every((p: Frame) => p.calls === 0 && p.errors === 0 && p.p50_ms === null && p.p99_ms === null)).toBe(true);
  expect(points.at(-1).t % 10_000).toBe(0);
});

test('REST calls count, with a JSON-RPC error answer and a timeout as errors', async () => {
  const sessionId = await serve('stats-rest');
  expect((await rest(sessionId, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(200);
  expect((await rest(sessionId, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo' } })).status).toBe(200);
  const failed = await rest(sessionId, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'fail' } });
  expect(failed.body.error.code).toBe(-32602);
  expect((await rest(sessionId, { jsonrpc: '2.0', id: 4, method: 'hang' }, '?timeout_ms=100')).status).toBe(504);
  // Notifications expect no answer: not calls.
  expect((await rest(sessionId, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' })).status).toBe(202);
  const { body } = await stats(sessionId);
  expect([body.calls_total, body.errors_total]).toEqual([4, 2]);
  expect(sum(body.points)).toBe(4);
  const busy = body.points.filter((p: Frame) => p.calls > 0);
  expect(busy.every((p: Frame) => typeof p.p50_ms === 'number' && p.p99_ms >= p.p50_ms)).toBe(true);
  // The timed-out call waited its 100 ms: the slowest call shows in p99.
  expect(Math.max(...busy.map((p: Frame) => p.p99_ms))).toBeGreaterThanOrEqual(100);
});

test('MCP calls count too: Streamable HTTP and legacy SSE, errors included; the handshake the gateway answers itself does not', async () => {
  const sessionId = await serve('stats-mcp');
  const streamable = await connectStreamable(gw.httpUrl, 'stats-mcp', alice);
  closers.push(() => streamable.client.close());
  await streamable.client.listTools();
  await streamable.client.callTool({ name: 'echo', arguments: {} });
  await expect(streamable.client.callTool({ name: 'fail', arguments: {} })).rejects.toThrow(/Unknown tool/);
  const legacy = await connectLegacySse(gw.httpUrl, 'stats-mcp', alice);
  closers.push(() => legacy.client.close());
  await legacy.client.callTool({ name: 'echo', arguments: {} });
  const { body } = await stats(sessionId);
  expect([body.calls_total, body.errors_total]).toEqual([4, 1]);
  expect(sum(body.points)).toBe(4);
});

test('who may read: the owner and admins; another user 403; an unknown session 404', async () => {
  const sessionId = await serve('stats-access');
  expect((await stats(sessionId, gw.mintToken('root@example.com', { admin: true }))).status).toBe(200);
  const other = await stats(sessionId, gw.mintToken('bob@example.com'));
  expect(other.status).toBe(403);
  expect(other.body.message).toBe('Not authorized for this session');
  expect((await stats('0123456789abcdef0123456789abcdef')).status).toBe(404);
  expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/stats`)).status).toBe(401);
});

test('the session list shows frames per direction besides their sum', async () => {
  const sessionId = await serve('stats-frames');
  await rest(sessionId, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  const { body } = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: alice });
  const session = body.sessions.find((s: Frame) => s.session_id === sessionId);
  // register in; register_ack, register_complete and the request out; the response in.
  expect([session.messages_in, session.messages_out]).toEqual([2, 3]);
  expect(session.message_count).toBe(5);
});

test('Swagger documents the stats route, its DTO and the list stream', async () => {
  const doc = (await http('GET', `${gw.httpUrl}/docs-json`)).body;
  expect(doc.paths['/reverse-proxy/sessions/{id}/stats'].get.responses['200']).toBeDefined();
  expect(doc.paths['/reverse-proxy/sse'].get).toBeDefined();
  expect(doc.paths['/reverse-proxy/sse/{id}'].get).toBeDefined();
  const { SessionStatsDto, StatsPointDto, SessionDto } = doc.components.schemas;
  for (const field of ['session_id', 'interval_s', 'window_s', 'calls_total', 'errors_total', 'points']) {
    expect(SessionStatsDto.properties[field].description).toEqual(expect.any(String));
  }
  for (const field of ['t', 'calls', 'errors', 'p50_ms', 'p99_ms'])
    expect(StatsPointDto.properties[field].description).toEqual(expect.any(String));
  expect(SessionDto.properties.messages_in.description).toEqual(expect.any(String));
  expect(SessionDto.properties.messages_out.description).toEqual(expect.any(String));
});
