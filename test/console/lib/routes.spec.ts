import { hashOf, mcpUrlOf, routeOf } from '../../../console/src/lib/routes.js';

test('the hash names the page; anything unexpected is the tunnels list', () => {
  expect(routeOf('#/tunnels/9f2c4e0a')).toEqual({ page: 'tunnel', id: '9f2c4e0a' });
  for (const hash of [
    '',
    '#/',
    '#/tunnels/',
    '#/tunnels/a/b',
    '#/tunnels/%E0%A4%A',
    '#/tunnels/a%20b',
    `#/tunnels/${'a'.repeat(200)}`,
    '#/other',
  ]) {
    expect(routeOf(hash)).toEqual({ page: 'tunnels' });
  }
  expect(routeOf(hashOf({ page: 'tunnel', id: 'abc_1-2' }))).toEqual({ page: 'tunnel', id: 'abc_1-2' });
  expect(hashOf({ page: 'tunnels' })).toBe('#/');
});

test("the MCP URL is the page origin's, with the name encoded", () => {
  expect(mcpUrlOf('https://gw.example', 'git tools')).toBe('https://gw.example/servers/git%20tools/mcp');
});
