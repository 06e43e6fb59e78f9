import { formatAgo, formatBytes, formatCount, formatMs, formatTime, textOf } from '../../../console/src/lib/format.js';

test('sizes, counts and durations read as a person expects', () => {
  expect([formatBytes(0), formatBytes(512), formatBytes(1536), formatBytes(20 * 1024 * 1024), formatBytes(-1)]).toEqual([
    '0 B',
    '512 B',
    '1.5 KB',
    '20 MB',
    '–',
  ]);
  expect([formatCount(1234567), formatCount(undefined), formatCount(Number.NaN)]).toEqual(['1,234,567', '–', '–']);
  expect([formatMs(0.42), formatMs(12.4), formatMs(1250), formatMs(null)]).toEqual(['0.4 ms', '12 ms', '1.3 s', '–']);
});

test('how long ago, from an injected now', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  expect(formatAgo('2026-01-01T12:00:00Z', now)).toBe('just now');
  expect(formatAgo('2026-01-01T11:59:18Z', now)).toBe('42 s ago');
  expect(formatAgo('2026-01-01T11:55:00Z', now)).toBe('5 min ago');
  expect(formatAgo('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
  expect(formatAgo('2025-12-30T12:00:00Z', now)).toBe('2 d ago');
  expect(formatAgo('garbage', now)).toBe('–');
  expect(formatTime(Number.NaN)).toBe('–');
  expect(formatTime(Date.parse('2026-03-04T05:06:07'))).toBe('2026-03-04 05:06:07');
});

test('values from a server become bounded text', () => {
  expect(textOf('plain')).toBe('plain');
  expect(textOf({ a: 1 })).toBe('{"a":1}');
  expect(textOf(undefined)).toBe('');
  expect(textOf('x'.repeat(10), 4)).toBe('xxxx…');
});
