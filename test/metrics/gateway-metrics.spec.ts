import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { GatewayMetrics, type TunnelGaugeSource } from '../../src/metrics/gateway-metrics.js';
import {
  CALL_DOORS,
  CALL_OUTCOMES,
  disconnectReasonOf,
  DISCONNECT_REASONS,
  failureOutcomeOf,
  UPGRADE_REFUSALS,
} from '../../src/metrics/metric-labels.js';
import { CALL_FAILURES, CallError, type CallFailure } from '../../src/reverse-proxy/tunnel/call-error.js';
import { parseExposition, seriesOf, valueOf, type Exposition } from './exposition.js';

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function scrape(metrics: GatewayMetrics): Promise<Exposition> {
  return parseExposition(await metrics.exposition());
}

const tunnel = (state: string, extra: Partial<TunnelGaugeSource> = {}): TunnelGaugeSource => ({
  state,
  suspended: false,
  pendingCount: 0,
  streamSubscriberCount: 0,
  ...extra,
});

test('every series of the fixed label sets is there at zero before anything happens, with its type', async () => {
  const m = await scrape(new GatewayMetrics());
  expect(seriesOf(m, 'mcp_gateway_calls_total')).toHaveLength(CALL_DOORS.length * CALL_OUTCOMES.length);
  expect(seriesOf(m, 'mcp_gateway_calls_total').every((s) => s.value === 0)).toBe(true);
  expect(seriesOf(m, 'mcp_gateway_tunnel_disconnects_total').map((s) => s.labels.reason)).toEqual([...DISCONNECT_REASONS]);
  expect(seriesOf(m, 'mcp_gateway_tunnel_upgrades_rejected_total').map((s) => s.labels.reason)).toEqual([...UPGRADE_REFUSALS]);
  for (const door of CALL_DOORS) expect(valueOf(m, 'mcp_gateway_call_duration_seconds_count', { door })).toBe(0);
  expect(m.types.get('mcp_gateway_calls_total')).toBe('counter');
  expect(m.types.get('mcp_gateway_call_duration_seconds')).toBe('histogram');
  expect(m.types.get('mcp_gateway_tunnels')).toBe('gauge');
  expect(valueOf(m, 'mcp_gateway_build_info')).toBe(1);
  // prom-client's process metrics come along, under their usual names.
  expect(m.types.get('process_cpu_seconds_total')).toBe('counter');
  expect(m.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
});

test('timeCall counts a call by door and outcome and times it with the injected clock', async () => {
  const clock = manualClock();
  const metrics = new GatewayMetrics(clock.now);
  let answer!: (r: object) => void;
  const call = metrics.timeCall('rest', () => new Promise<object>((resolve) => (answer = resolve)));
  clock.advance(7);
  answer({ jsonrpc: '2.0', id: 1, result: {} });
  await expect(call).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: {} });

  await metrics.timeCall('mcp', () => Promise.resolve({ jsonrpc: '2.0', id: 2, error: { code: -1, message: 'no' } }));
  await expect(metrics.timeCall('sse', () => Promise.reject(new CallError('timeout', 'late')))).rejects.toThrow('late');
  await expect(metrics.timeCall('sse', () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');

  const m = await scrape(metrics);
  expect(valueOf(m, 'mcp_gateway_calls_total', { door: 'rest', outcome: 'ok' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_calls_total', { door: 'mcp', outcome: 'error' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_calls_total', { door: 'sse', outcome: 'timeout' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_calls_total', { door: 'sse', outcome: 'internal' })).toBe(1);
  expect(seriesOf(m, 'mcp_gateway_calls_total').reduce((sum, s) => sum + s.value, 0)).toBe(4);
  // 7 ms: above the 5 ms bucket, within 10 ms.
  expect(valueOf(m, 'mcp_gateway_call_duration_seconds_bucket', { door: 'rest', le: '0.005' })).toBe(0);
  expect(valueOf(m, 'mcp_gateway_call_duration_seconds_bucket', { door: 'rest', le: '0.01' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_call_duration_seconds_sum', { door: 'rest' })).toBeCloseTo(0.007, 9);
  expect(valueOf(m, 'mcp_gateway_call_duration_seconds_count', { door: 'sse' })).toBe(2);
});

test('a call refused at once (a busy tunnel throws synchronously) is counted and thrown again unchanged', async () => {
  const metrics = new GatewayMetrics();
  const busy = new CallError('busy', 'Too many requests in flight');
  expect(() =>
    metrics.timeCall('rest', () => {
      throw busy;
    }),
  ).toThrow(busy);
  expect(valueOf(await scrape(metrics), 'mcp_gateway_calls_total', { door: 'rest', outcome: 'busy' })).toBe(1);
});

test('every CallError reason is an outcome of its own (a new reason would otherwise be counted as internal)', () => {
  for (const reason of Object.keys(CALL_FAILURES) as CallFailure[]) {
    expect(failureOutcomeOf(new CallError(reason, 'x'))).toBe(reason);
  }
});

test('frames and bytes are counted per direction', async () => {
  const metrics = new GatewayMetrics();
  metrics.frameIn(100);
  metrics.frameIn(20);
  metrics.frameOut(3);
  const m = await scrape(metrics);
  expect(valueOf(m, 'mcp_gateway_tunnel_frames_total', { direction: 'in' })).toBe(2);
  expect(valueOf(m, 'mcp_gateway_tunnel_bytes_total', { direction: 'in' })).toBe(120);
  expect(valueOf(m, 'mcp_gateway_tunnel_frames_total', { direction: 'out' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_tunnel_bytes_total', { direction: 'out' })).toBe(3);
  // Scraping again does not count twice.
  expect(valueOf(await scrape(metrics), 'mcp_gateway_tunnel_bytes_total', { direction: 'in' })).toBe(120);
});

test('registrations, disconnects and refused upgrades are counted under their labels', async () => {
  const metrics = new GatewayMetrics();
  metrics.tunnelRegistered('registered');
  metrics.tunnelRegistered('registered');
  metrics.tunnelRegistered('resume_refused');
  metrics.tunnelClosed('unregistered');
  metrics.tunnelClosed('tunnel lost: no reconnect within 30 s');
  metrics.upgradeRejected('unauthenticated');
  const m = await scrape(metrics);
  expect(valueOf(m, 'mcp_gateway_tunnel_registrations_total', { result: 'registered' })).toBe(2);
  expect(valueOf(m, 'mcp_gateway_tunnel_registrations_total', { result: 'resume_refused' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_tunnel_disconnects_total', { reason: 'unregistered' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_tunnel_disconnects_total', { reason: 'resume_expired' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_tunnel_upgrades_rejected_total', { reason: 'unauthenticated' })).toBe(1);
});

test('gauges are read from their sources at every scrape', async () => {
  const metrics = new GatewayMetrics();
  const tunnels: TunnelGaugeSource[] = [];
  const sessions: { kind: string }[] = [];
  let ready = true;
  metrics.watchTunnels(() => tunnels);
  metrics.watchMcpSessions(() => sessions);
  metrics.watchReadiness(() => ready);
  expect(valueOf(await scrape(metrics), 'mcp_gateway_tunnels', { state: 'ready' })).toBe(0);

  tunnels.push(
    tunnel('ready', { pendingCount: 3, streamSubscriberCount: 2 }),
    tunnel('ready', { suspended: true, pendingCount: 1 }),
    tunnel('registered'),
    tunnel('connected', { streamSubscriberCount: 1 }),
  );
  sessions.push({ kind: 'streamable-http' }, { kind: 'streamable-http' }, { kind: 'sse' });
  ready = false;
  const m = await scrape(metrics);
  expect(seriesOf(m, 'mcp_gateway_tunnels').map((s) => [s.labels.state, s.value])).toEqual([
    ['connected', 1],
    ['registered', 1],
    ['ready', 1],
    ['suspended', 1],
  ]);
  expect(valueOf(m, 'mcp_gateway_calls_in_flight')).toBe(4);
  expect(valueOf(m, 'mcp_gateway_sse_subscribers')).toBe(3);
  expect(valueOf(m, 'mcp_gateway_mcp_sessions', { transport: 'streamable_http' })).toBe(2);
  expect(valueOf(m, 'mcp_gateway_mcp_sessions', { transport: 'sse' })).toBe(1);
  expect(valueOf(m, 'mcp_gateway_ready')).toBe(0);

  tunnels.splice(0);
  expect(valueOf(await scrape(metrics), 'mcp_gateway_calls_in_flight')).toBe(0);
});

test('no input grows the number of series: unknown reasons, errors and states fall into fixed labels', async () => {
  const metrics = new GatewayMetrics();
  const before = (await scrape(metrics)).samples.length;
  for (let i = 0; i < 200; i++) {
    metrics.tunnelClosed(`peer-chosen reason ${i} "quoted"\n`);
    void metrics.timeCall('mcp', () => Promise.reject(Object.assign(new Error('x'), { reason: `reason-${i}` }))).catch(() => undefined);
  }
  metrics.watchTunnels(() => [tunnel('no-such-state'), tunnel('ready')]);
  metrics.watchMcpSessions(() => [{ kind: 'websocket' }]);
  await new Promise((r) => setImmediate(r));
  const m = await scrape(metrics);
  expect(m.samples.length).toBe(before);
  expect(valueOf(m, 'mcp_gateway_tunnel_disconnects_total', { reason: 'other' })).toBe(200);
  expect(valueOf(m, 'mcp_gateway_calls_total', { door: 'mcp', outcome: 'internal' })).toBe(200);
  expect(seriesOf(m, 'mcp_gateway_tunnels').reduce((sum, s) => sum + s.value, 0)).toBe(1);
});

test('every close reason written in the tunnel endpoint has a label of its own', () => {
  // Drift guard: a reason renamed in src/reverse-proxy would silently be counted as `other`.
  const root = new URL('../../src/reverse-proxy/', import.meta.url).pathname;
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const reasons = new Set<string>(['disconnected', 'frame too large', 'protocol error']);
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    for (const call of source.matchAll(/\.close\(([^;\n()]*)\)/g)) {
      for (const quoted of call[1].matchAll(/'([^']+)'/g)) reasons.add(quoted[1]);
    }
  }
  expect(reasons.size).toBeGreaterThan(8);
  for (const reason of reasons) expect([reason, disconnectReasonOf(reason)]).not.toEqual([reason, 'other']);
});

test('each instance has a registry of its own; prom-client global registry stays empty', async () => {
  const a = new GatewayMetrics();
  const b = new GatewayMetrics();
  a.frameIn(5);
  expect(valueOf(await scrape(b), 'mcp_gateway_tunnel_frames_total', { direction: 'in' })).toBe(0);
  expect(valueOf(await scrape(a), 'mcp_gateway_tunnel_frames_total', { direction: 'in' })).toBe(1);
  expect(globalRegistry.getMetricsAsArray()).toHaveLength(0);
});
