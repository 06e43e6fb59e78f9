import { HELD_SUBSCRIPTION_LIMITS, HeldSubscriptions } from '../../src/client/held-subscriptions.js';

test('remembers each URI once, in the order first subscribed, and forgets what is unsubscribed', () => {
  const held = new HeldSubscriptions();
  for (const uri of ['file:///b', 'file:///a', 'file:///b', 'file:///c']) expect(held.add(uri)).toBe(true);
  held.delete('file:///a');
  held.delete('file:///never');
  expect(held.uris).toEqual(['file:///b', 'file:///c']);
  expect(held.size).toBe(2);
  expect(held.refused).toBe(0);
});

test('past its limits a URI is not remembered, and counted as refused until the next clear', () => {
  const held = new HeldSubscriptions({ uris: 2, uriLength: 10 });
  expect(held.add('x:' + 'y'.repeat(9))).toBe(false);
  expect(held.add('x:1')).toBe(true);
  expect(held.add('x:2')).toBe(true);
  expect(held.add('x:3')).toBe(false);
  // One already held is not a new one.
  expect(held.add('x:1')).toBe(true);
  expect(held.uris).toEqual(['x:1', 'x:2']);
  expect(held.refused).toBe(2);
  held.delete('x:2');
  expect(held.add('x:3')).toBe(true);

  held.clear();
  expect(held.uris).toEqual([]);
  expect(held.refused).toBe(0);
});

test('the documented limits', () => {
  expect(HELD_SUBSCRIPTION_LIMITS).toEqual({ uris: 10_000, uriLength: 2048 });
  expect(new HeldSubscriptions().limits).toBe(HELD_SUBSCRIPTION_LIMITS);
});
