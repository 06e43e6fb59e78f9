import { EventLog, summarize } from '../../../console/src/lib/event-log.js';

const limits = { maxEntries: 3, maxTotalChars: 100, maxEntryChars: 40 };

test('keeps the newest entries within the count, oldest let go first', () => {
  let t = 0;
  const log = new EventLog(limits, () => ++t);
  for (const n of [1, 2, 3, 4]) log.push('response', `{"id":${n}}`);
  expect(log.visible().map((e) => e.data)).toEqual(['{"id":2}', '{"id":3}', '{"id":4}']);
  expect(log.visible().map((e) => e.at)).toEqual([2, 3, 4]);
  expect(log.dropped).toBe(1);
});

test('bounded by characters too: a long entry is cut and flagged, and old ones go to make room', () => {
  const log = new EventLog(limits);
  log.push('a', 'x'.repeat(40));
  log.push('b', 'y'.repeat(40));
  const cut = log.push('c', 'z'.repeat(50));
  expect(cut).toMatchObject({ truncated: true, data: 'z'.repeat(40) });
  expect(log.visible().map((e) => e.type)).toEqual(['b', 'c']);
});

test('paused, the view stays as it was while events are still kept and counted; resume shows them', () => {
  const log = new EventLog(limits);
  log.push('a', '1');
  log.pause();
  log.push('b', '2');
  log.push('c', '3');
  expect(log.paused).toBe(true);
  expect(log.visible().map((e) => e.type)).toEqual(['a']);
  expect(log.pendingCount).toBe(2);
  log.resume();
  expect(log.visible().map((e) => e.type)).toEqual(['a', 'b', 'c']);
  expect(log.pendingCount).toBe(0);
});

test('clear empties the log, paused or not; sequence numbers keep increasing', () => {
  const log = new EventLog(limits);
  const first = log.push('a', '1');
  log.pause();
  log.clear();
  expect(log.visible()).toEqual([]);
  log.resume();
  expect(log.push('b', '2').seq).toBeGreaterThan(first.seq);
});

test('summaries name the method, the id, and a result or an error', () => {
  expect(summarize('request', '{"jsonrpc":"2.0","id":4,"method":"roots/list"}')).toBe('roots/list · id 4');
  expect(summarize('response', '{"id":"a","result":{}}')).toBe('id a · result');
  expect(summarize('response', '{"id":1,"error":{"code":-1,"message":"boom"}}')).toBe('id 1 · error: boom');
  expect(summarize('closed', '{"sessionId":"s","reason":"bye"}')).toBe('bye');
  expect(summarize('x', 'not json')).toBe('not json');
});
