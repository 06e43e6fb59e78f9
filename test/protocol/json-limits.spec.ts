import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan, parseJsonWithin } from '../../src/protocol/json-limits.js';

const arrays = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);
const objects = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
/** `[{"k":[{"k":...}]}]`, `depth` containers in all. */
function alternating(depth: number): string {
  let text = 'null';
  for (let level = depth; level >= 1; level--) text = level % 2 === 1 ? `[${text}]` : `{"k":${text}}`;
  return text;
}

describe('parseJsonWithin', () => {
  test.each([
    ['arrays', arrays],
    ['objects', objects],
    ['arrays and objects alternating', alternating],
  ])('%s: depth exactly at the limit passes, one more is refused', (_name, make) => {
    expect(parseJsonWithin(make(64), 64)).toEqual({ ok: true, value: JSON.parse(make(64)) });
    expect(parseJsonWithin(make(65), 64)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(parseJsonWithin(make(65), 65).ok).toBe(true);
  });

  test('scalars are depth 0, empty containers depth 1', () => {
    expect(parseJsonWithin('"x"', 0)).toEqual({ ok: true, value: 'x' });
    expect(parseJsonWithin('42', 0)).toEqual({ ok: true, value: 42 });
    expect(parseJsonWithin('[]', 0)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(parseJsonWithin('{}', 1)).toEqual({ ok: true, value: {} });
    expect(parseJsonWithin('[[]]', 1)).toMatchObject({ ok: false, reason: 'too-deep' });
  });

  test('brackets inside strings do not count, escaped quotes included', () => {
    const brackets = JSON.stringify({ s: '[[[[[[[[[[{{{{{{{{{{', t: 'say \\"[[[[[" and \\\\"{{{{"' });
    expect(parseJsonWithin(brackets, 1)).toEqual({ ok: true, value: JSON.parse(brackets) });
    const keys = JSON.stringify({ '[[[[[[': { '{{{{{': 1 } });
    expect(parseJsonWithin(keys, 2).ok).toBe(true);
    expect(parseJsonWithin(keys, 1)).toMatchObject({ ok: false, reason: 'too-deep' });
  });

  test('depth is the deepest branch, not the number of containers', () => {
    const wide = JSON.stringify({ a: [[1]], b: [[[2]]], c: { d: { e: {} } } });
    expect(parseJsonWithin(wide, 4).ok).toBe(true);
    expect(parseJsonWithin(wide, 3)).toMatchObject({ ok: false, reason: 'too-deep' });
    // The deep branch comes after many shallow siblings.
    const late = JSON.stringify([...Array.from({ length: 1000 }, () => [1]), JSON.parse(arrays(10))]);
    expect(parseJsonWithin(late, 10)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(parseJsonWithin(late, 11).ok).toBe(true);
  });

  test('huge flat arrays and objects pass', () => {
    const flat = JSON.stringify(Array.from({ length: 200_000 }, (_, i) => i));
    expect(parseJsonWithin(flat, 1).ok).toBe(true);
    const wideObject = JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, { v: [i] }])));
    expect(parseJsonWithin(wideObject, 3).ok).toBe(true);
  });

  test('100,000 levels are refused without overflowing the stack; the top level stays readable', () => {
    const text = `{"type":"response","payload":{"id":"gw-7","result":${arrays(100_000)}}}`;
    const result = parseJsonWithin(text, DEFAULT_MAX_JSON_DEPTH);
    expect(result.ok).toBe(false);
    if (result.ok || result.reason !== 'too-deep') throw new Error('expected too-deep');
    const frame = result.shallowOnly as { type: string; payload: { id: string } };
    expect(frame.type).toBe('response');
    expect(frame.payload.id).toBe('gw-7');
  });

  test('invalid JSON is told apart from too deep', () => {
    expect(parseJsonWithin('{"a":', 64)).toEqual({ ok: false, reason: 'invalid' });
    expect(parseJsonWithin('', 64)).toEqual({ ok: false, reason: 'invalid' });
    expect(parseJsonWithin(arrays(10).slice(0, -1), 64)).toEqual({ ok: false, reason: 'invalid' });
  });

  test('__proto__ keys are walked as ordinary own keys', () => {
    const text = `{"__proto__":${arrays(5)},"constructor":{"prototype":{}}}`;
    expect(parseJsonWithin(text, 5)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(parseJsonWithin(text, 6).ok).toBe(true);
  });
});

describe('nestsDeeperThan', () => {
  test('measures values built in code too', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = { next: deep };
    expect(nestsDeeperThan(deep, 64)).toBe(true);
    expect(nestsDeeperThan({ a: [1, 2, { b: 'x' }] }, 3)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
  });

  test('a shared (non-tree) value is measured per path and terminates', () => {
    const leaf = { x: [1] };
    expect(nestsDeeperThan({ a: leaf, b: leaf, c: [leaf, leaf] }, 4)).toBe(false);
  });
});
