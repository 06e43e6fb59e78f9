import { jest } from '@jest/globals';
import { CallStats } from '../../../src/reverse-proxy/tunnel/call-stats.js';
import { CallError, PendingCalls } from '../../../src/reverse-proxy/tunnel/pending-calls.js';

const noop = () => undefined;

afterEach(() => {
  jest.useRealTimers();
});

test('gives every call a tunnel-unique id, even when callers use the same id', () => {
  const calls = new PendingCalls(10);
  const a = calls.open(1, 1000, noop);
  const b = calls.open(1, 1000, noop);
  const c = calls.open('1', 1000, noop);
  expect(new Set([a.tunnelId, b.tunnelId, c.tunnelId]).size).toBe(3);
  expect(a.tunnelId).toMatch(/^gw-/);
  expect(calls.size).toBe(3);
  expect([calls.originalId(a.tunnelId), calls.originalId(c.tunnelId)]).toEqual([1, '1']);
  calls.failAll(new CallError('closed', 'done'));
  return Promise.allSettled([a.answer, b.answer, c.answer]);
});

test('uses the given prefix', () => {
  const calls = new PendingCalls(10, 'mcp-');
  const { tunnelId, answer } = calls.open(1, 1000, noop);
  expect(tunnelId).toMatch(/^mcp-/);
  calls.drop(tunnelId);
  void answer.catch(noop);
});

test('settle restores the caller id on the right call and resolves it', async () => {
  const calls = new PendingCalls(10);
  const first = calls.open(7, 1000, noop);
  const second = calls.open(7, 1000, noop);
  const restored = calls.settle({ jsonrpc: '2.0', id: second.tunnelId, result: { n: 2 } });
  expect(restored).toEqual({ jsonrpc: '2.0', id: 7, result: { n: 2 } });
  calls.settle({ jsonrpc: '2.0', id: first.tunnelId, error: { code: -1, message: 'no' } });
  await expect(second.answer).resolves.toEqual({ jsonrpc: '2.0', id: 7, result: { n: 2 } });
  await expect(first.answer).resolves.toEqual({ jsonrpc: '2.0', id: 7, error: { code: -1, message: 'no' } });
  expect(calls.size).toBe(0);
});

test('settle ignores answers nobody waits for', () => {
  const calls = new PendingCalls(10);
  const { tunnelId, answer } = calls.open('x', 1000, noop);
  expect(calls.settle({ jsonrpc: '2.0', id: 'gw-999', result: {} })).toBeUndefined();
  expect(calls.settle({ jsonrpc: '2.0', id: 1, result: {} })).toBeUndefined();
  expect(calls.settle({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse' } })).toBeUndefined();
  expect(calls.size).toBe(1);
  // A second answer to a settled call is ignored too.
  expect(calls.settle({ jsonrpc: '2.0', id: tunnelId, result: 1 })).toEqual({ jsonrpc: '2.0', id: 'x', result: 1 });
  expect(calls.settle({ jsonrpc: '2.0', id: tunnelId, result: 2 })).toBeUndefined();
  return expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 'x', result: 1 });
});

test('timeout calls onTimeout with the tunnel id, then rejects with a timeout CallError', async () => {
  jest.useFakeTimers();
  const calls = new PendingCalls(10);
  const order: string[] = [];
  const onTimeout = jest.fn((id: string) => order.push(`cancel ${id}`));
  const { tunnelId, answer } = calls.open(5, 250, onTimeout);
  const outcome = answer.then(
    () => 'resolved',
    (err: CallError) => {
      order.push('rejected');
      return err;
    },
  );
  jest.advanceTimersByTime(249);
  expect(onTimeout).not.toHaveBeenCalled();
  jest.advanceTimersByTime(1);
  const err = (await outcome) as CallError;
  expect(err).toBeInstanceOf(CallError);
  expect(err.reason).toBe('timeout');
  expect(err.message).toBe('No answer from the tunnel within 250 ms');
  expect(onTimeout).toHaveBeenCalledWith(tunnelId);
  expect(order).toEqual([`cancel ${tunnelId}`, 'rejected']);
  expect(calls.size).toBe(0);
  // A late answer finds nobody.
  expect(calls.settle({ jsonrpc: '2.0', id: tunnelId, result: {} })).toBeUndefined();
});

test('a settled call does not time out later', async () => {
  jest.useFakeTimers();
  const calls = new PendingCalls(10);
  const onTimeout = jest.fn();
  const { tunnelId, answer } = calls.open(1, 100, onTimeout);
  calls.settle({ jsonrpc: '2.0', id: tunnelId, result: 'ok' });
  jest.advanceTimersByTime(1000);
  await expect(answer).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: 'ok' });
  expect(onTimeout).not.toHaveBeenCalled();
});

test('refuses calls past the limit with a busy CallError, and accepts again once one ends', () => {
  const calls = new PendingCalls(2);
  const a = calls.open(1, 1000, noop);
  const b = calls.open(2, 1000, noop);
  let thrown: unknown;
  try {
    calls.open(3, 1000, noop);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CallError);
  expect((thrown as CallError).reason).toBe('busy');
  expect((thrown as CallError).message).toBe('Too many requests in flight on this session (limit 2)');
  expect(calls.size).toBe(2);
  calls.settle({ jsonrpc: '2.0', id: a.tunnelId, result: {} });
  const c = calls.open(3, 1000, noop);
  expect(calls.size).toBe(2);
  calls.failAll(new CallError('closed', 'end'));
  return Promise.allSettled([b.answer, c.answer]);
});

test('drop forgets a call without settling it or firing its timeout', async () => {
  jest.useFakeTimers();
  const calls = new PendingCalls(10);
  const onTimeout = jest.fn();
  const { tunnelId, answer } = calls.open(1, 100, onTimeout);
  let settled = false;
  answer.then(
    () => (settled = true),
    () => (settled = true),
  );
  calls.drop(tunnelId);
  calls.drop('gw-unknown');
  expect(calls.size).toBe(0);
  jest.advanceTimersByTime(1000);
  await Promise.resolve();
  expect(onTimeout).not.toHaveBeenCalled();
  expect(settled).toBe(false);
});

test('failAll rejects every call in flight with the given error and clears the table', async () => {
  jest.useFakeTimers();
  const calls = new PendingCalls(10);
  const onTimeout = jest.fn();
  const answers = [calls.open(1, 100, onTimeout), calls.open(1, 100, onTimeout), calls.open('z', 100, onTimeout)].map((c) => c.answer);
  const error = new CallError('closed', 'The tunnel closed (test)');
  calls.failAll(error);
  expect(calls.size).toBe(0);
  const results = await Promise.allSettled(answers);
  expect(results.map((r) => (r.status === 'rejected' ? r.reason : r.value))).toEqual([error, error, error]);
  jest.advanceTimersByTime(1000);
  expect(onTimeout).not.toHaveBeenCalled();
});

describe('with a recorder, every call end is counted once in the call stats', () => {
  const T0 = 1_767_225_600_000;
  let clock: number;
  let stats: CallStats;
  let calls: PendingCalls;
  const last = () => stats.snapshot(clock).points.at(-1)!;

  beforeEach(() => {
    clock = T0;
    stats = new CallStats();
    calls = new PendingCalls(2, 'gw-', 'the tunnel', { stats, clock: () => clock });
  });

  test('an answer counts with its latency from open to settle; a JSON-RPC error answer counts as an error', async () => {
    const a = calls.open(1, 1000, noop);
    const b = calls.open(2, 1000, noop);
    clock += 40;
    calls.settle({ jsonrpc: '2.0', id: a.tunnelId, result: {} });
    clock += 60;
    calls.settle({ jsonrpc: '2.0', id: b.tunnelId, error: { code: -32601, message: 'no such method' } });
    // An answer nobody waits for is not a call.
    calls.settle({ jsonrpc: '2.0', id: a.tunnelId, result: {} });
    expect(last()).toEqual({ t: T0, calls: 2, errors: 1, p50Ms: 40, p99Ms: 100 });
    await Promise.all([a.answer, b.answer]);
  });

  test('a timeout, a cancel (fail) and a close (failAll) count as errors with their latency', async () => {
    jest.useFakeTimers();
    const timedOut = calls.open(1, 100, noop);
    clock += 100;
    jest.advanceTimersByTime(100);
    const cancelled = calls.open(2, 1000, noop);
    expect(calls.fail(cancelled.tunnelId, new CallError('cancelled', 'x'))).toBe(true);
    expect(calls.fail(cancelled.tunnelId, new CallError('cancelled', 'x'))).toBe(false);
    const closed = calls.open(3, 1000, noop);
    clock += 5;
    calls.failAll(new CallError('closed', 'gone'));
    expect(last()).toMatchObject({ calls: 3, errors: 3, p99Ms: 100 });
    await Promise.allSettled([timedOut.answer, cancelled.answer, closed.answer]);
  });

  test('a call refused as busy counts as an error; a dropped one (never sent) does not count', async () => {
    const a = calls.open(1, 1000, noop);
    const b = calls.open(2, 1000, noop);
    expect(() => calls.open(3, 1000, noop)).toThrow(CallError);
    calls.drop(a.tunnelId);
    expect(last()).toEqual({ t: T0, calls: 1, errors: 1, p50Ms: null, p99Ms: null });
    calls.failAll(new CallError('closed', 'end'));
    await Promise.allSettled([b.answer]);
    expect(stats.snapshot(clock).callsTotal).toBe(2);
  });
});

test('without a recorder nothing is timed (the MCP client direction)', () => {
  const calls = new PendingCalls(10, 'gw-s-', 'the MCP client');
  const context: { sentAt?: number } = {};
  const { tunnelId, answer } = calls.open(1, 1000, noop, context);
  calls.settle({ jsonrpc: '2.0', id: tunnelId, result: {} });
  expect(context.sentAt).toBeUndefined();
  return answer;
});
