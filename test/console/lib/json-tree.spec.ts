import { jsonTree, prettyJson } from '../../../console/src/lib/json-tree.js';

test('a tree of keys and typed values, strings quoted as JSON', () => {
  expect(jsonTree('{"a":[1,"<x>",true,null],"b":{}}')).toEqual({
    kind: 'object',
    size: 2,
    children: [
      {
        kind: 'array',
        key: 'a',
        size: 4,
        children: [
          { kind: 'value', key: '0', text: '1', type: 'number' },
          { kind: 'value', key: '1', text: '"<x>"', type: 'string' },
          { kind: 'value', key: '2', text: 'true', type: 'boolean' },
          { kind: 'value', key: '3', text: 'null', type: 'null' },
        ],
      },
      { kind: 'object', key: 'b', size: 0, children: [] },
    ],
  });
});

test('not JSON, or more nodes than the budget: no tree (the view shows text)', () => {
  expect(jsonTree('nope')).toBeUndefined();
  expect(jsonTree(JSON.stringify(Array.from({ length: 10 }, (_, i) => i)), 5)).toBeUndefined();
  expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
  expect(prettyJson('nope')).toBe('nope');
});
