import { jest } from '@jest/globals';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from '../../../src/mcp/sessions/bounded-event-store.js';
import { EventStoreBudget } from '../../../src/mcp/sessions/event-store-budget.js';

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { n } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; sent: [string, JSONRPCMessage][] }> {
  const sent: [string, JSONRPCMessage][] = [];
  const stream = await store.replayEventsAfter(after, { send: async (id, message) => void sent.push([id, message]) });
  return { stream, sent };
}

const MiB = 1024 * 1024;
/** A store with roomy limits unless told otherwise, on its own budget unless given one. */
function storeWith(limits: { maxEvents?: number; maxBytes?: number } = {}, budget = new EventStoreBudget(1024 * MiB)): BoundedEventStore {
  return new BoundedEventStore({ maxEvents: limits.maxEvents ?? 1000, maxBytes: limits.maxBytes ?? 4 * MiB }, budget);
}
/** A log notification whose JSON is exactly `bytes` long. */
function sized(bytes: number, n = 0): JSONRPCMessage {
  const bare = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { n, data: '' } }).length;
  return { jsonrpc: '2.0', method: 'notifications/message', params: { n, data: 'x'.repeat(bytes - bare) } };
}
const answer = (id: number, bytes = 100): JSONRPCMessage => {
  const bare = JSON.stringify({ jsonrpc: '2.0', id, result: { data: '' } }).length;
  return { jsonrpc: '2.0', id, result: { data: 'x'.repeat(bytes - bare) } };
};

test('replays the events of the same stream stored after the given id, skipping priming events', async () => {
  const store = storeWith({ maxEvents: 100 });
  const priming = await store.storeEvent('s1', {} as JSONRPCMessage);
  const first = await store.storeEvent('s1', note(1));
  await store.storeEvent('s2', note(99));
  const second = await store.storeEvent('s1', note(2));
  expect(await store.getStreamIdForEventId(first)).toBe('s1');
  expect(await replay(store, priming)).toEqual({
    stream: 's1',
    sent: [
      [first, note(1)],
      [second, note(2)],
    ],
  });
  expect(await replay(store, first)).toEqual({ stream: 's1', sent: [[second, note(2)]] });
});

test('holds at most maxEvents, dropping the oldest; an expired id cannot be resumed', async () => {
  const store = storeWith({ maxEvents: 3 });
  const ids: string[] = [];
  for (let n = 1; n <= 10; n++) ids.push(await store.storeEvent('s', note(n)));
  expect(store.size).toBe(3);
  expect(await store.getStreamIdForEventId(ids[0])).toBeUndefined();
  await expect(replay(store, ids[0])).rejects.toThrow(/Unknown or expired/);
  expect((await replay(store, ids[7])).sent.map(([, m]) => (m as any).params.n)).toEqual([9, 10]);
});

test('the size helper makes messages of the asked JSON length', () => {
  expect(JSON.stringify(sized(1000, 7)).length).toBe(1000);
  expect(JSON.stringify(answer(3, 500)).length).toBe(500);
});

test('holds at most maxBytes per session, dropping the oldest; 300 answers of 1 MiB keep 4 MiB, not 300', async () => {
  const budget = new EventStoreBudget(256 * MiB);
  const store = storeWith({ maxBytes: 4 * MiB }, budget);
  const ids: string[] = [];
  for (let n = 0; n < 300; n++) ids.push(await store.storeEvent(`post-${n}`, sized(MiB, n)));
  expect(store.size).toBe(4);
  expect(store.bytes).toBe(4 * MiB);
  expect(budget.used).toBe(4 * MiB);
  expect(await store.getStreamIdForEventId(ids[295])).toBeUndefined();
  expect(await store.getStreamIdForEventId(ids[296])).toBe('post-296');
});

test('an event larger than the per-session bound is not kept, and keeps the others', async () => {
  const store = storeWith({ maxBytes: 10_000 });
  const small = await store.storeEvent('s', sized(4000, 1));
  const huge = await store.storeEvent('s', sized(10_001, 2));
  expect(huge).toBe(small.replace(/_(\d+)$/, (_, seq: string) => `_${Number(seq) + 1}`));
  expect(await store.getStreamIdForEventId(huge)).toBeUndefined();
  expect(store.bytes).toBe(4000);
  expect((await replay(store, small)).sent).toEqual([]);
});

test('over the shared total the storing session drops its own oldest events first', async () => {
  const budget = new EventStoreBudget(10_000);
  const other = storeWith({}, budget);
  const mine = storeWith({}, budget);
  for (let n = 0; n < 3; n++) await other.storeEvent('o', sized(2000, n)); // 6000 of 10000
  const first = await mine.storeEvent('m', sized(2000, 10));
  await mine.storeEvent('m', sized(2000, 11)); // 10000: full
  const third = await mine.storeEvent('m', sized(2000, 12));
  expect(budget.used).toBe(10_000);
  expect(other.bytes).toBe(6000); // nobody else pays for this session's events
  expect(mine.size).toBe(2);
  expect(await mine.getStreamIdForEventId(first)).toBeUndefined();
  expect(await mine.getStreamIdForEventId(third)).toBe('m');
});

test('when the total is spent by others, a new event is refused rather than grown past it', async () => {
  const budget = new EventStoreBudget(10_000);
  const other = storeWith({}, budget);
  for (let n = 0; n < 5; n++) await other.storeEvent('o', sized(2000, n));
  const mine = storeWith({}, budget);
  const id = await mine.storeEvent('m', sized(500));
  expect(id).toMatch(/^[0-9a-f]{8}_1$/); // the stream still gets an id for its SSE event
  expect(mine.size).toBe(0);
  expect(budget.used).toBe(10_000);
  await expect(replay(mine, id)).rejects.toThrow(/Unknown or expired/);
});

test('a stream whose answer was delivered is forgotten; other streams stay', async () => {
  const budget = new EventStoreBudget(MiB);
  const store = storeWith({}, budget);
  await store.storeEvent('post-a', {} as JSONRPCMessage); // priming event
  await store.storeEvent('post-a', sized(1000, 1)); // progress
  await store.storeEvent('post-a', answer(7, 3000));
  const pending = await store.storeEvent('post-b', sized(1000, 2));
  const standalone = await store.storeEvent('_GET_stream', sized(1000, 3));
  expect(budget.used).toBe(2 + 1000 + 3000 + 1000 + 1000);
  store.forgetAnswered([7]);
  expect(store.size).toBe(2);
  expect(store.bytes).toBe(2000);
  expect(budget.used).toBe(2000);
  expect(await store.getStreamIdForEventId(pending)).toBe('post-b');
  expect(await store.getStreamIdForEventId(standalone)).toBe('_GET_stream');
  store.forgetAnswered([7, 'unknown', 99]); // nothing (more) to forget
  expect(store.size).toBe(2);
});

test('an answer still waiting for its client stays resumable', async () => {
  const store = storeWith();
  const priming = await store.storeEvent('post-a', {} as JSONRPCMessage);
  const answered = await store.storeEvent('post-a', answer(1));
  // The exchange of request 1 broke before delivering: nobody says it was delivered.
  store.forgetAnswered([2]);
  expect((await replay(store, priming)).sent).toEqual([[answered, answer(1)]]);
});

test('closing gives every byte back to the shared budget and keeps nothing more', async () => {
  const budget = new EventStoreBudget(MiB);
  const store = storeWith({}, budget);
  const kept = storeWith({}, budget);
  await kept.storeEvent('k', sized(1000));
  for (let n = 0; n < 10; n++) await store.storeEvent('s', sized(5000, n));
  expect(budget.used).toBe(51_000);
  store.close();
  expect(budget.used).toBe(1000);
  expect(store.size).toBe(0);
  await store.storeEvent('s', sized(5000));
  expect(store.size).toBe(0);
  expect(budget.used).toBe(1000);
});

test('a notification stored by many sessions is measured once (its JSON is shared)', async () => {
  const spy = jest.spyOn(JSON, 'stringify');
  try {
    const budget = new EventStoreBudget(MiB);
    const stores = Array.from({ length: 5 }, () => storeWith({}, budget));
    const message = sized(1000);
    spy.mockClear();
    for (const store of stores) await store.storeEvent('_GET_stream', message);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(budget.used).toBe(5000);
  } finally {
    spy.mockRestore();
  }
});

test("another store's event ids are unknown here, even with the same sequence number", async () => {
  const budget = new EventStoreBudget(1_000_000);
  const first = new BoundedEventStore({ maxEvents: 10, maxBytes: 10_000 }, budget);
  const second = new BoundedEventStore({ maxEvents: 10, maxBytes: 10_000 }, budget);
  const id = await first.storeEvent('s', { jsonrpc: '2.0', method: 'a' });
  await second.storeEvent('s', { jsonrpc: '2.0', method: 'b' });
  expect(first.has(id)).toBe(true);
  expect(second.has(id)).toBe(false);
  expect([first.isForeign(id), second.isForeign(id)]).toEqual([false, true]);
  expect(await second.getStreamIdForEventId(id)).toBeUndefined();
});
