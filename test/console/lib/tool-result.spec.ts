import { outcomeOf } from '../../../console/src/lib/tool-result.js';

test('text content as text, other content and structured content as JSON, errors flagged', () => {
  expect(
    outcomeOf({
      result: {
        content: [
          { type: 'text', text: '<b>hi</b>' },
          { type: 'image', data: 'AA', mimeType: 'image/png' },
        ],
        structuredContent: { n: 1 },
      },
    }),
  ).toEqual({
    isError: false,
    blocks: [
      { kind: 'text', text: '<b>hi</b>' },
      { kind: 'json', text: JSON.stringify({ type: 'image', data: 'AA', mimeType: 'image/png' }, null, 2) },
      { kind: 'json', text: '{\n  "n": 1\n}' },
    ],
  });
  expect(outcomeOf({ result: { content: [{ type: 'text', text: 'bad' }], isError: true } }).isError).toBe(true);
  expect(outcomeOf({ error: { code: -32602, message: 'Unknown tool' } })).toEqual({
    isError: true,
    blocks: [{ kind: 'text', text: 'Error -32602: Unknown tool' }],
  });
  expect(outcomeOf({ result: 'odd' }).blocks).toEqual([{ kind: 'json', text: '"odd"' }]);
});

test('bounded: at most 50 blocks, each cut at 100,000 characters', () => {
  const many = outcomeOf({ result: { content: Array.from({ length: 80 }, () => ({ type: 'text', text: 'x'.repeat(200_000) })) } });
  expect(many.blocks).toHaveLength(50);
  expect(many.blocks[0].text.length).toBeLessThan(100_100);
});
