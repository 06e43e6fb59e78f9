import { HANDED_REQUESTS_REMEMBERED, HandedRequests } from '../../src/client/handed-requests.js';

test('an id is taken once; a second copy is refused', () => {
  const handed = new HandedRequests();
  expect(handed.claim('gw-1')).toBe(true);
  expect(handed.claim('gw-2')).toBe(true);
  expect(handed.claim('gw-1')).toBe(false);
  expect(handed.size).toBe(2);
});

test('1 and "1" are different ids', () => {
  const handed = new HandedRequests();
  expect(handed.claim(1)).toBe(true);
  expect(handed.claim('1')).toBe(true);
  expect(handed.claim(1)).toBe(false);
});

test('remembers the last `capacity` ids: the oldest is forgotten first', () => {
  const handed = new HandedRequests(3);
  for (const id of ['a', 'b', 'c', 'd']) expect(handed.claim(id)).toBe(true);
  expect(handed.size).toBe(3);
  // "a" was pushed out by "d"; the others are still known.
  expect(handed.claim('b')).toBe(false);
  expect(handed.claim('c')).toBe(false);
  expect(handed.claim('d')).toBe(false);
  expect(handed.claim('a')).toBe(true);
  // ... which pushed out "b", the oldest then.
  expect(handed.claim('b')).toBe(true);
  expect(handed.claim('c')).toBe(true);
  expect(handed.size).toBe(3);
});

test('stays bounded over many ids', () => {
  const handed = new HandedRequests(100);
  for (let i = 0; i < 1000; i++) handed.claim(`gw-${i}`);
  expect(handed.size).toBe(100);
  expect(handed.claim('gw-999')).toBe(false);
  expect(handed.claim('gw-899')).toBe(true);
});

test('a new session starts with an empty memory', () => {
  const handed = new HandedRequests(2);
  handed.claim('gw-1');
  handed.claim('gw-2');
  handed.clear();
  expect(handed.size).toBe(0);
  expect(handed.claim('gw-1')).toBe(true);
  expect(handed.claim('gw-2')).toBe(true);
  expect(handed.claim('gw-1')).toBe(false);
});

test('remembers 10,000 ids by default, and refuses a capacity that is not a positive integer', () => {
  expect(new HandedRequests().capacity).toBe(HANDED_REQUESTS_REMEMBERED);
  expect(HANDED_REQUESTS_REMEMBERED).toBe(10_000);
  for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => new HandedRequests(capacity)).toThrow(RangeError);
});
