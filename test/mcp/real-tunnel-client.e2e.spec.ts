/**
 * The whole trip with the real parts: SDK clients over Streamable HTTP and legacy SSE, the real
 * gateway, the real tunnel client CLI (dist/client/cli.js, built by `pretest`) and the stdio
 * fixture server it runs.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from '../client/helpers/cli-process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectLegacySse, connectStreamable, textOf } from '../support/mcp-clients.js';

let gw: RunningGateway;
let token: string;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('dave@example.com');
  const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.httpUrl, '--token', token, '--name', 'fixture']);
  await cli.waitForLog(/registered as "fixture"/);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await killAll();
  await gw.close();
});

test('an SDK client uses the stdio fixture through the tunnel client: tools, prompt, resource, progress', async () => {
  const { client } = await connectStreamable(gw.httpUrl, 'fixture', token);
  clients.push(client);
  expect(client.getServerVersion()).toMatchObject({ name: 'fixture-server', version: '1.2.3' });
  expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'progress', 'sample']));
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'via the CLI' } }))).toBe('via the CLI');
  expect((await client.getPrompt({ name: 'greet', arguments: { name: 'Eve' } })).messages[0].content).toEqual({
    type: 'text',
    text: 'Hello, Eve!',
  });
  expect((await client.readResource({ uri: 'fixture://hello' })).contents[0]).toMatchObject({ text: 'hello from the fixture' });
  const steps: number[] = [];
  await client.callTool({ name: 'progress', arguments: { steps: 4 } }, undefined, { onprogress: (p) => steps.push(p.progress) });
  expect(steps).toEqual([1, 2, 3, 4]);
});

test('sampling from the stdio server reaches the calling client, over either transport', async () => {
  const modern = await connectStreamable(gw.httpUrl, 'fixture', token, { sampling: {} });
  const legacy = await connectLegacySse(gw.httpUrl, 'fixture', token, { sampling: {} });
  clients.push(modern.client, legacy.client);
  for (const [who, c] of [
    ['modern', modern.client],
    ['legacy', legacy.client],
  ] as const) {
    c.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant',
      content: { type: 'text', text: `answered by ${who}` },
      model: 'test',
    }));
  }
  expect(textOf(await modern.client.callTool({ name: 'sample', arguments: { prompt: 'p' } }))).toBe('sampled: answered by modern');
  expect(textOf(await legacy.client.callTool({ name: 'sample', arguments: { prompt: 'p' } }))).toBe('sampled: answered by legacy');
});
