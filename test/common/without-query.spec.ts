import { withoutQuery } from '../../src/common/without-query.js';

test.each([
  ['Cannot GET /nope?token=secret', 'Cannot GET /nope'],
  ['Cannot POST /servers/a/mcp?token=abc&x=1#frag', 'Cannot POST /servers/a/mcp'],
  ['Cannot GET /?token=abc', 'Cannot GET /'],
  ['Cannot GET /a?b and /c?d', 'Cannot GET /a and /c'],
  ['Session 0123 not found', 'Session 0123 not found'],
  ['Is this a question?', 'Is this a question?'],
])('%s -> %s', (text, expected) => {
  expect(withoutQuery(text)).toBe(expected);
});
