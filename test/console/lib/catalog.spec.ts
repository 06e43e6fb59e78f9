import { capabilityNames, hasMore, promptsOf, resourcesOf, toolsOf } from '../../../console/src/lib/catalog.js';

test('tools, prompts and resources from list answers; malformed items skipped', () => {
  expect(
    toolsOf({ tools: [{ name: 'echo', description: 'Says', inputSchema: { type: 'object' } }, { description: 'no name' }, 'x'] }),
  ).toEqual([{ name: 'echo', title: undefined, description: 'Says', inputSchema: { type: 'object' } }]);
  expect(promptsOf({ prompts: [{ name: 'greet', arguments: [{ name: 'who' }, { bad: 1 }] }] })).toEqual([
    { name: 'greet', description: undefined, arguments: ['who'] },
  ]);
  expect(resourcesOf({ resources: [{ uri: 'fixture://hello', name: 'hello', mimeType: 'text/plain' }, { name: 'no uri' }] })).toEqual([
    { uri: 'fixture://hello', name: 'hello', description: undefined, mimeType: 'text/plain' },
  ]);
  expect(toolsOf(null)).toEqual([]);
  expect(toolsOf({ tools: 'x' })).toEqual([]);
});

test('bounded: 500 items, 2,000 characters a text; more pages and capabilities read safely', () => {
  const tools = toolsOf({ tools: Array.from({ length: 900 }, (_, i) => ({ name: `t${i}`, description: 'd'.repeat(5000) })) });
  expect(tools).toHaveLength(500);
  expect(tools[0].description).toHaveLength(2000);
  expect(hasMore({ nextCursor: 'c' })).toBe(true);
  expect(hasMore({})).toBe(false);
  expect(capabilityNames({ tools: {}, logging: {} })).toEqual(['tools', 'logging']);
  expect(capabilityNames('x')).toEqual([]);
});
