import { CALL_STATS_LIMITS, CallStats, preciseNow } from '../../../src/reverse-proxy/tunnel/call-stats.js';

const INTERVAL = CALL_STATS_LIMITS.intervalMs;
/** A moment at the start of an interval, far from the epoch. */
const T0 = 1_767_225_600_000;

let stats: CallStats;
beforeEach(() => {
  stats = new CallStats();
});

test('a session without calls has one empty point per interval of the window, oldest first, ending with the current one', () => {
  const now = T0 + 3 * INTERVAL + 1234;
  const snapshot = stats.snapshot(now);
  expect(snapshot).toMatchObject({ intervalMs: 10_000, windowMs: 600_000, callsTotal: 0, errorsTotal: 0 });
  expect(snapshot.points).toHaveLength(60);
  expect(snapshot.points.at(-1)).toEqual({ t: T0 + 3 * INTERVAL, calls: 0, errors: 0, p50Ms: null, p99Ms: null });
  expect(snapshot.points[0].t).toBe(T0 + 3 * INTERVAL - 59 * INTERVAL);
  expect(snapshot.points.every((p, i) => i === 0 || p.t - snapshot.points[i - 1].t === INTERVAL)).toBe(true);
});

test('calls and errors are counted in the interval they ended in, and in the totals', () => {
  stats.record(5, true, T0 + 100);
  stats.record(7, false, T0 + 9_999);
  stats.record(9, true, T0 + INTERVAL);
  stats.refused(T0 + INTERVAL + 1);
  const { points, callsTotal, errorsTotal } = stats.snapshot(T0 + INTERVAL + 2);
  expect(points.at(-2)).toMatchObject({ t: T0, calls: 2, errors: 1 });
  expect(points.at(-1)).toMatchObject({ t: T0 + INTERVAL, calls: 2, errors: 1 });
  expect([callsTotal, errorsTotal]).toEqual([4, 2]);
});

test('a call refused before it was sent counts as an error with no latency', () => {
  stats.refused(T0);
  expect(stats.snapshot(T0).points.at(-1)).toEqual({ t: T0, calls: 1, errors: 1, p50Ms: null, p99Ms: null });
});

test('p50 and p99 are within 19% of the true percentiles of the interval', () => {
  // 1..1000 ms: p50 = 500, p99 = 990.
  for (let ms = 1; ms <= 1000; ms++) stats.record(ms, true, T0 + (ms % INTERVAL));
  const point = stats.snapshot(T0).points.at(-1)!;
  expect(point.calls).toBe(1000);
  expect(point.p50Ms! / 500).toBeGreaterThan(1 / 1.19);
  expect(point.p50Ms! / 500).toBeLessThan(1.19);
  expect(point.p99Ms! / 990).toBeGreaterThan(1 / 1.19);
  expect(point.p99Ms! / 990).toBeLessThan(1.19);
});

test('percentiles stay within the latencies seen: one call gives its own latency', () => {
  stats.record(42.5, true, T0);
  expect(stats.snapshot(T0).points.at(-1)).toMatchObject({ p50Ms: 42.5, p99Ms: 42.5 });
});

test('a slow tail shows in p99, not in p50', () => {
  for (let i = 0; i < 98; i++) stats.record(2, true, T0);
  stats.record(3000, true, T0);
  stats.record(3000, true, T0);
  const point = stats.snapshot(T0).points.at(-1)!;
  expect(point.p50Ms).toBe(2);
  expect(point.p99Ms! / 3000).toBeGreaterThan(1 / 1.19);
});

test('sub-millisecond, zero, negative and very long latencies land in the end bins, bounded by what was seen', () => {
  stats.record(0.05, true, T0);
  stats.record(0, true, T0);
  stats.record(-3, true, T0);
  stats.record(0.1, true, T0);
  // One bin holds them all: its estimate is held to the highest latency seen.
  expect(stats.snapshot(T0).points.at(-1)).toMatchObject({ calls: 4, p50Ms: 0.1, p99Ms: 0.1 });
  const later = T0 + INTERVAL;
  stats.record(600_000, false, later);
  expect(stats.snapshot(later).points.at(-1)).toMatchObject({ calls: 1, errors: 1, p50Ms: 600_000, p99Ms: 600_000 });
});

test('intervals older than the window leave it, and a reused ring slot starts over', () => {
  stats.record(10, false, T0);
  const sameSlotLater = T0 + 60 * INTERVAL;
  expect(stats.snapshot(sameSlotLater - 1).points[0]).toMatchObject({ t: T0, calls: 1 });
  expect(stats.snapshot(sameSlotLater).points.find((p) => p.t === T0)).toBeUndefined();
  stats.record(20, true, sameSlotLater);
  const point = stats.snapshot(sameSlotLater).points.at(-1)!;
  expect(point).toEqual({ t: sameSlotLater, calls: 1, errors: 0, p50Ms: 20, p99Ms: 20 });
  // The totals are the session's, not the window's.
  expect(stats.snapshot(sameSlotLater).callsTotal).toBe(2);
});

test('an interval skipped without calls shows empty, not the data of the slot it shares', () => {
  stats.record(10, true, T0);
  const snapshot = stats.snapshot(T0 + 2 * INTERVAL);
  expect(snapshot.points.at(-1)).toMatchObject({ calls: 0, p50Ms: null });
  expect(snapshot.points.at(-2)).toMatchObject({ calls: 0, p50Ms: null });
  expect(snapshot.points.at(-3)).toMatchObject({ t: T0, calls: 1, p50Ms: 10 });
});

test('preciseNow is epoch milliseconds', () => {
  expect(Math.abs(preciseNow() - Date.now())).toBeLessThan(60_000);
});
