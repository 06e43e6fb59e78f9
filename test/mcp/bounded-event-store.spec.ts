import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from '../../src/mcp/bounded-event-store.js';

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { n } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; sent: [string, JSONRPCMessage][] }> {
  const sent: [string, JSONRPCMessage][] = [];
  const stream = await store.replayEventsAfter(after, { send: async (id, message) => void sent.push([id, message]) });
  return { stream, sent };
}

test('replays the events of the same stream stored after the given id, skipping priming events', async () => {
  const store = new BoundedEventStore(100);
  const priming = await store.storeEvent('s1', {} as JSONRPCMessage);
  const first = await store.storeEvent('s1', note(1));
  await store.storeEvent('s2', note(99));
  const second = await store.storeEvent('s1', note(2));
  expect(await store.getStreamIdForEventId(first)).toBe('s1');
  expect(await replay(store, priming)).toEqual({ stream: 's1', sent: [[first, note(1)], [second, note(2)]] });
  expect(await replay(store, first)).toEqual({ stream: 's1', sent: [[second, note(2)]] });
});

test('holds at most maxEvents, dropping the oldest; an expired id cannot be resumed', async () => {
  const store = new BoundedEventStore(3);
  const ids: string[] = [];
  for (let n = 1; n <= 10; n++) ids.push(await store.storeEvent('s', note(n)));
  expect(store.size).toBe(3);
  expect(await store.getStreamIdForEventId(ids[0])).toBeUndefined();
  await expect(replay(store, ids[0])).rejects.toThrow(/Unknown or expired/);
  expect((await replay(store, ids[7])).sent.map(([, m]) => (m as any).params.n)).toEqual([9, 10]);
});
