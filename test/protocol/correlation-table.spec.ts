import { jest } from '@jest/globals';
import { CorrelationTable } from '../../src/protocol/correlation-table.js';

class Failed extends Error {}

afterEach(() => {
  jest.useRealTimers();
});

function table(max?: number): CorrelationTable<{ method: string }, Failed> {
  return new CorrelationTable({
    prefix: 'own-',
    timedOut: (ms, call) => new Failed(`${call.method} not answered within ${ms} ms`),
    ...(max === undefined ? {} : { limit: { max, busy: (n: number) => new Failed(`busy (${n})`) } }),
  });
}

test('rewrites ids, restores the caller id on the answer, and ignores answers nobody waits for', async () => {
  const calls = table();
  const a = calls.open(1, 1000, { method: 'initialize' });
  const b = calls.open(1, 1000, { method: 'ping' });
  expect([a.id, b.id]).toEqual(['own-1', 'own-2']);
  expect(calls.get(b.id)).toEqual({ id: 'own-2', callerId: 1, context: { method: 'ping' } });
  expect(calls.newestFirst().map((c) => c.id)).toEqual(['own-2', 'own-1']);
  expect(calls.find((c) => c.context.method === 'ping')).toBe('own-2');
  expect(calls.settle({ jsonrpc: '2.0', id: b.id, result: {} })).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
  expect(calls.settle({ jsonrpc: '2.0', id: b.id, result: {} })).toBeUndefined();
  expect(calls.settle({ jsonrpc: '2.0', id: 1, result: {} })).toBeUndefined();
  await expect(b.answer).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: {} });
  calls.failAll(new Failed('closed'));
  await expect(a.answer).rejects.toThrow('closed');
  expect(calls.size).toBe(0);
});

test('times out with the error the table was given, after onTimeout', async () => {
  jest.useFakeTimers();
  const calls = table();
  const order: string[] = [];
  const { id, answer } = calls.open('x', 100, { method: 'initialize' }, (expired) => order.push(`timeout ${expired}`));
  const outcome = answer.catch((err: Failed) => (order.push('rejected'), err));
  jest.advanceTimersByTime(100);
  const err = await outcome;
  expect(err).toBeInstanceOf(Failed);
  expect((err as Failed).message).toBe('initialize not answered within 100 ms');
  expect(order).toEqual([`timeout ${id}`, 'rejected']);
});

test('a limit refuses calls past it; fail and drop end one call', async () => {
  const calls = table(1);
  const a = calls.open(1, 1000, { method: 'a' });
  expect(() => calls.open(2, 1000, { method: 'b' })).toThrow('busy (1)');
  expect(calls.fail(a.id, new Failed('no'))).toBe(true);
  expect(calls.fail(a.id, new Failed('no'))).toBe(false);
  await expect(a.answer).rejects.toThrow('no');
  const b = calls.open(2, 1000, { method: 'b' });
  calls.drop(b.id);
  expect(calls.size).toBe(0);
});
