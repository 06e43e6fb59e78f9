import { StdioLocalServer } from '../../src/client/local-stdio-server.js';

/** A child that prints a deep answer, a deep notification, then a normal line, and exits. */
const SCRIPT = `
const deep = (n) => '['.repeat(n) + '1' + ']'.repeat(n);
process.stdout.write('{"jsonrpc":"2.0","id":"gw-3","result":{"x":' + deep(10000) + '}}\\n');
process.stdout.write('{"jsonrpc":"2.0","method":"notifications/message","params":' + deep(10000) + '}\\n');
process.stdout.write('{"jsonrpc":"2.0","id":"gw-4","result":{"ok":true}}\\n');
`;

test('lines from the local server nested past the limit are dropped; a deep answer becomes an error for its call', async () => {
  const server = new StdioLocalServer({ kind: 'stdio', command: process.execPath, args: ['-e', SCRIPT] }, { stderr: () => undefined });
  const messages: unknown[] = [];
  const output: string[] = [];
  server.onmessage = (message) => messages.push(message);
  server.onoutput = (line) => output.push(line);
  const exited = new Promise((resolve) => (server.onexit = resolve));
  await server.start();
  await exited;
  expect(messages).toEqual([
    { jsonrpc: '2.0', id: 'gw-3', error: { code: -32603, message: "The local server's answer nests deeper than 64 levels" } },
    { jsonrpc: '2.0', id: 'gw-4', result: { ok: true } },
  ]);
  expect(output).toEqual(['dropped a message nesting deeper than 64 levels', 'dropped a message nesting deeper than 64 levels']);
});
