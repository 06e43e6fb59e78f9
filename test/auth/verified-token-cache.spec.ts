import type { Principal } from '../../src/auth/principal.js';
import { VerifiedTokenCache } from '../../src/auth/verified-token-cache.js';

const alice: Principal = { user: 'alice', isAdmin: false, via: 'jwt' };

function cacheAt(start = 1_000_000_000_000, capacity = 3, ttlMs = 60_000) {
  const clock = { now: start };
  return { clock, cache: new VerifiedTokenCache(capacity, ttlMs, () => clock.now) };
}

test('a remembered token gives its principal back, as a frozen copy', () => {
  const { cache } = cacheAt();
  cache.set('t1', alice, undefined);
  const hit = cache.get('t1');
  expect(hit).toEqual(alice);
  expect(hit).not.toBe(alice);
  expect(Object.isFrozen(hit)).toBe(true);
  expect(cache.get('other')).toBeUndefined();
});

test('an entry ends at the token exp, even inside the TTL', () => {
  const { clock, cache } = cacheAt();
  cache.set('t1', alice, clock.now / 1000 + 5);
  clock.now += 4_999;
  expect(cache.get('t1')).toBeDefined();
  clock.now += 1;
  expect(cache.get('t1')).toBeUndefined();
  expect(cache.size).toBe(0);
});

test('an entry ends after the TTL, even when the token lives longer', () => {
  const { clock, cache } = cacheAt();
  cache.set('t1', alice, clock.now / 1000 + 3600);
  clock.now += 59_999;
  expect(cache.get('t1')).toBeDefined();
  clock.now += 1;
  expect(cache.get('t1')).toBeUndefined();
});

test('an already expired token is not remembered', () => {
  const { clock, cache } = cacheAt();
  cache.set('t1', alice, clock.now / 1000 - 1);
  expect(cache.get('t1')).toBeUndefined();
  expect(cache.size).toBe(0);
});

test('the map is bounded: the oldest entry goes first', () => {
  const { cache } = cacheAt();
  for (const t of ['a', 'b', 'c', 'd']) cache.set(t, alice, undefined);
  expect(cache.size).toBe(3);
  expect(cache.get('a')).toBeUndefined();
  expect(cache.get('d')).toBeDefined();
});
