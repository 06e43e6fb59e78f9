import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import WebSocket from 'ws';
import { ShutdownState } from '../../src/lifecycle/shutdown-state.js';
import { GatewayMetrics } from '../../src/metrics/gateway-metrics.js';
import { closeTunnels, FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectLegacySse, connectStreamable, textOf } from '../support/mcp-clients.js';
import { SseStream } from '../support/sse.js';
import { createTestServer, type TestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';
import { eventually } from '../support/wait.js';
import { parseExposition, seriesOf, valueOf, type Exposition } from './exposition.js';

const METRICS_TOKEN = 'scrape-me-0123456789abcdef';

let gw: RunningGateway;
let token: string;
let fixture: TestServer;
let tunnelled: TunnelledServer;
const clients: Client[] = [];
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  gw = await startGateway({ METRICS_TOKEN });
  token = gw.mintToken('metered@example.com');
  fixture = createTestServer({ name: 'metered-fixture' });
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'metered', fixture.server);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await closeTunnels(tunnels);
  await tunnelled.close();
  await gw.close();
});

async function scrape(target = gw, bearer: string | undefined = METRICS_TOKEN): Promise<Exposition> {
  const res = await fetch(`${target.httpUrl}/metrics`, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

/** Scrapes until `done` holds for what was scraped, and returns that. */
async function scrapeUntil(done: (m: Exposition) => boolean, what: string): Promise<Exposition> {
  let last: Exposition | undefined;
  await eventually(async () => done((last = await scrape())), what);
  return last!;
}

/** What moved between two scrapes for one series. */
const delta = (before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}): number =>
  valueOf(after, name, labels) - valueOf(before, name, labels);

function rest(path: string, body?: unknown): Promise<Response> {
  return fetch(`${gw.httpUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

test('a REST call, an MCP call, a legacy SSE call and an SSE stream move the counters and gauges by the right amounts', async () => {
  const sid = tunnelled.sessionId;
  const start = await scrape();
  expect(valueOf(start, 'mcp_gateway_tunnels', { state: 'ready' })).toBe(1);
  expect(valueOf(start, 'mcp_gateway_ready')).toBe(1);
  expect(valueOf(start, 'mcp_gateway_tunnel_registrations_total', { result: 'registered' })).toBe(1);

  // REST: one answered call, one the server answers with a JSON-RPC error.
  const echoed = await rest(`/reverse-proxy/sessions/${sid}/request`, {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'over rest' } },
  });
  expect(textOf(((await echoed.json()) as { result: unknown }).result)).toBe('over rest');
  const refused = await rest(`/reverse-proxy/sessions/${sid}/request`, { jsonrpc: '2.0', id: 2, method: 'no/such-method' });
  expect(((await refused.json()) as { error?: unknown }).error).toBeDefined();

  // MCP: Streamable HTTP and legacy HTTP+SSE, one tool call each (initialize is answered by the gateway, no tunnel call).
  const streamable = await connectStreamable(gw.httpUrl, 'metered', token);
  clients.push(streamable.client);
  expect(textOf(await streamable.client.callTool({ name: 'echo', arguments: { text: 'over mcp' } }))).toBe('over mcp');
  const legacy = await connectLegacySse(gw.httpUrl, 'metered', token);
  clients.push(legacy.client);
  expect(textOf(await legacy.client.callTool({ name: 'echo', arguments: { text: 'over sse' } }))).toBe('over sse');

  // An admin SSE stream following the tunnel, and a call held in flight.
  const stream = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sid}`, { Authorization: `Bearer ${token}` });
  await stream.next((e) => e.event === 'connected');
  const held = rest(`/reverse-proxy/sessions/${sid}/request`, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'hold' } });
  const call = await fixture.nextHeld();

  const during = await scrape();
  expect(valueOf(during, 'mcp_gateway_calls_in_flight')).toBe(1);
  expect(valueOf(during, 'mcp_gateway_sse_subscribers')).toBe(1);
  expect(valueOf(during, 'mcp_gateway_mcp_sessions', { transport: 'streamable_http' })).toBe(1);
  expect(valueOf(during, 'mcp_gateway_mcp_sessions', { transport: 'sse' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_calls_total', { door: 'rest', outcome: 'ok' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_calls_total', { door: 'rest', outcome: 'error' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_calls_total', { door: 'mcp', outcome: 'ok' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_calls_total', { door: 'sse', outcome: 'ok' })).toBe(1);
  const movedCalls = seriesOf(during, 'mcp_gateway_calls_total').reduce((sum, s) => sum + s.value, 0);
  expect(movedCalls - seriesOf(start, 'mcp_gateway_calls_total').reduce((sum, s) => sum + s.value, 0)).toBe(4);
  expect(delta(start, during, 'mcp_gateway_call_duration_seconds_count', { door: 'rest' })).toBe(2);
  expect(delta(start, during, 'mcp_gateway_call_duration_seconds_count', { door: 'mcp' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_call_duration_seconds_count', { door: 'sse' })).toBe(1);
  expect(delta(start, during, 'mcp_gateway_call_duration_seconds_sum', { door: 'rest' })).toBeGreaterThan(0);
  // Five requests went down the tunnel (the held one included) and four answers came back.
  expect(delta(start, during, 'mcp_gateway_tunnel_frames_total', { direction: 'out' })).toBe(5);
  expect(delta(start, during, 'mcp_gateway_tunnel_frames_total', { direction: 'in' })).toBe(4);
  expect(delta(start, during, 'mcp_gateway_tunnel_bytes_total', { direction: 'out' })).toBeGreaterThan(5 * 50);

  call.release('let go');
  expect((await held).status).toBe(200);
  await stream.close();
  // DELETE ends the Streamable HTTP session; the legacy one ends with its stream.
  await streamable.transport.terminateSession();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  const after = await scrapeUntil(
    (m) =>
      valueOf(m, 'mcp_gateway_sse_subscribers') === 0 &&
      valueOf(m, 'mcp_gateway_calls_in_flight') === 0 &&
      seriesOf(m, 'mcp_gateway_mcp_sessions').every((s) => s.value === 0),
    'the gauges to come back to zero',
  );
  expect(delta(start, after, 'mcp_gateway_calls_total', { door: 'rest', outcome: 'ok' })).toBe(2);
});

test('tunnel registrations, disconnects and refused upgrades are counted by reason', async () => {
  const start = await scrape();
  // No token: 401 at the upgrade. A path that is not the tunnel's: 404.
  await expect(FakeTunnel.connect(gw.tunnelUrl)).rejects.toMatchObject({ status: 401 });
  await expect(FakeTunnel.connect(`${gw.wsUrl}/not-the-tunnel`, { Authorization: `Bearer ${token}` })).rejects.toMatchObject({
    status: 404,
  });
  // Another user's name is refused (and that session closed); an unregister ends a session; DELETE ends another.
  const intruder = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('intruder@example.com')}` });
  tunnels.push(intruder);
  intruder.send({ type: 'register', server: { name: 'metered', capabilities: {} } });
  expect(await intruder.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'error' });
  await intruder.closed;
  const leaving = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'leaving', capabilities: {} });
  tunnels.push(leaving.tunnel);
  leaving.tunnel.send({ type: 'unregister' });
  await leaving.tunnel.closed;
  const deleted = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'deleted', capabilities: {} });
  tunnels.push(deleted.tunnel);
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${deleted.sessionId}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  await deleted.tunnel.closed;

  const admin = (m: Exposition) => valueOf(m, 'mcp_gateway_tunnel_disconnects_total', { reason: 'admin' });
  const after = await scrapeUntil((m) => admin(m) > admin(start), 'the DELETE to be counted');
  expect(delta(start, after, 'mcp_gateway_tunnel_upgrades_rejected_total', { reason: 'unauthenticated' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_upgrades_rejected_total', { reason: 'not_found' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_registrations_total', { result: 'refused' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_registrations_total', { result: 'registered' })).toBe(2);
  expect(delta(start, after, 'mcp_gateway_tunnel_disconnects_total', { reason: 'name_refused' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_disconnects_total', { reason: 'unregistered' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_disconnects_total', { reason: 'admin' })).toBe(1);
  expect(delta(start, after, 'mcp_gateway_tunnel_disconnects_total', { reason: 'other' })).toBe(0);
  // The fixture's tunnel is the only one left.
  expect(seriesOf(after, 'mcp_gateway_tunnels').reduce((sum, s) => sum + s.value, 0)).toBe(1);
});

test('with METRICS_TOKEN set, /metrics answers only a request carrying it', async () => {
  const noToken = await fetch(`${gw.httpUrl}/metrics`);
  expect(noToken.status).toBe(401);
  expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
  const body = (await noToken.json()) as { statusCode: number; message: string };
  expect(body.statusCode).toBe(401);
  expect(body.message).not.toContain(METRICS_TOKEN);
  // A wrong token, one that only shares a prefix, and a valid user JWT are all refused.
  for (const bearer of ['wrong-token-0123456789', METRICS_TOKEN.slice(0, -1), `${METRICS_TOKEN}x`, token]) {
    const res = await fetch(`${gw.httpUrl}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    expect([bearer, res.status]).toEqual([bearer, 401]);
    await res.arrayBuffer();
  }
  const ok = await fetch(`${gw.httpUrl}/metrics`, { headers: { Authorization: `bearer ${METRICS_TOKEN}` } });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain('mcp_gateway_tunnels{state="ready"} 1');
});

test('without METRICS_TOKEN, /metrics is open even while auth is required elsewhere', async () => {
  const open = await startGateway();
  try {
    expect(open.config.auth.required).toBe(true);
    const m = await scrape(open, undefined);
    expect(valueOf(m, 'mcp_gateway_tunnels', { state: 'ready' })).toBe(0);
    // The other gateway in this process keeps its own numbers.
    expect(valueOf(m, 'mcp_gateway_tunnel_registrations_total', { result: 'registered' })).toBe(0);
    expect((await fetch(`${open.httpUrl}/reverse-proxy/sessions`)).status).toBe(401);
  } finally {
    await open.close();
  }
});

test('while the gateway drains, readiness reads 0 and refused upgrades are counted as draining', async () => {
  const draining = await startGateway();
  try {
    // Read in-process: /metrics itself is refused with 503 during the drain, like every route but the probes.
    const metrics = draining.app.get(GatewayMetrics);
    draining.app.get(ShutdownState).begin();
    const ws = new WebSocket(draining.tunnelUrl, { headers: { Authorization: `Bearer ${draining.mintToken('late@example.com')}` } });
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(undefined));
    });
    expect(status).toBe(503);
    const m = parseExposition(await metrics.exposition());
    expect(valueOf(m, 'mcp_gateway_ready')).toBe(0);
    expect(valueOf(m, 'mcp_gateway_tunnel_upgrades_rejected_total', { reason: 'draining' })).toBe(1);
  } finally {
    await draining.close();
  }
});
