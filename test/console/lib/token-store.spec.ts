import { MAX_TOKEN_CHARS, normalizeToken, TokenStore, type KeyValueStorage } from '../../../console/src/lib/token-store.js';

function memory(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

test('keeps one token, as the header wants it, and forgets it on sign-out', () => {
  const storage = memory();
  const store = new TokenStore(storage);
  expect(store.get()).toBeUndefined();
  expect(store.set('  Bearer abc.def.ghi \n')).toBe(true);
  expect(store.get()).toBe('abc.def.ghi');
  expect(storage.map.size).toBe(1);
  store.clear();
  expect(store.get()).toBeUndefined();
});

test('refuses what cannot be a token: empty, with spaces or control characters, too long', () => {
  for (const bad of ['', '   ', 'Bearer ', 'a b', 'a\u0000b', 'x'.repeat(MAX_TOKEN_CHARS + 1)]) expect(normalizeToken(bad)).toBeUndefined();
  const store = new TokenStore(memory());
  expect(store.set('a b')).toBe(false);
  expect(store.get()).toBeUndefined();
});

test('a storage that throws (blocked by the browser) reads as signed out', () => {
  const store = new TokenStore({
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => undefined,
    removeItem: () => undefined,
  });
  expect(store.get()).toBeUndefined();
});
