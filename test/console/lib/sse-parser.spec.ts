import { SseParser } from '../../../console/src/lib/sse-parser.js';

test('parses events split anywhere, with every line ending, comments and multi-line data', () => {
  const parser = new SseParser();
  const text = ': keepalive comment\nevent: response\nid: 7\ndata: {"a":\ndata: 1}\n\r\nevent: closed\r\ndata: x\r\rdata: plain\n\n';
  const events = [];
  for (const ch of text) events.push(...parser.push(ch));
  expect(events).toEqual([
    { event: 'response', id: '7', data: '{"a":\n1}' },
    { event: 'closed', data: 'x' },
    { event: 'message', data: 'plain' },
  ]);
});

test('a lone \\r at the end of a chunk waits for the next one (it may be half of \\r\\n)', () => {
  const parser = new SseParser();
  expect(parser.push('data: a\r')).toEqual([]);
  expect(parser.push('\n\r\n')).toEqual([{ event: 'message', data: 'a' }]);
});

test('fields without a value, a space after the colon stripped once, unknown fields ignored, empty events not dispatched', () => {
  const parser = new SseParser();
  expect(parser.push('retry: 5\n\nevent\ndata\ndata:  two spaces\n\n')).toEqual([{ event: '', data: '\n two spaces' }]);
});

test('an event over the size limit is skipped whole and counted; the next one parses', () => {
  const parser = new SseParser({ maxLineChars: 1000, maxEventChars: 10 });
  expect(parser.push('event: big\ndata: 0123456789ABC\n\ndata: ok\n\n')).toEqual([{ event: 'message', data: 'ok' }]);
  expect(parser.skipped).toBe(1);
});

test('a line that never ends is dropped once over the limit, its event with it, without holding its text', () => {
  const parser = new SseParser({ maxLineChars: 8, maxEventChars: 1000 });
  expect(parser.push('data: 0123456789')).toEqual([]);
  expect(parser.push('more and more text')).toEqual([]);
  expect((parser as unknown as { buffer: string }).buffer.length).toBeLessThanOrEqual(18);
  expect(parser.push(' end\n\ndata: next\n\n')).toEqual([{ event: 'message', data: 'next' }]);
  expect(parser.skipped).toBe(1);
});
