import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { createTestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';

let gw: RunningGateway;
let tunnelled: TunnelledServer;
let token: string;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('alice@example.com');
  tunnelled = await serveThroughTunnel(gw.tunnelUrl, token, 'basic', createTestServer({ name: 'fixture' }).server);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await tunnelled.close();
  await gw.close();
});

async function client(): Promise<Client> {
  const { client } = await connectStreamable(gw.httpUrl, 'basic', token);
  clients.push(client);
  return client;
}

test('initialize is answered from the registration, and the server never sees a second one', async () => {
  const c = await client();
  expect(c.getServerVersion()).toMatchObject({ name: 'fixture', version: '1.0.0', title: 'Test Server' });
  expect(c.getServerCapabilities()).toMatchObject({ tools: {}, resources: { subscribe: true }, prompts: {}, logging: {} });
  expect(c.getInstructions()).toBe('A server for the MCP door tests.');
  await c.ping();
  const initializes = tunnelled.received.filter((m) => 'method' in m && m.method === 'initialize');
  const initialized = tunnelled.received.filter((m) => 'method' in m && m.method === 'notifications/initialized');
  expect(initializes).toHaveLength(1);
  expect(initialized).toHaveLength(1);
});

test('tools, resources and prompts work through the tunnel', async () => {
  const c = await client();
  const tools = await c.listTools();
  expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'progress', 'hold', 'sample']));
  expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'hi there' } }))).toBe('hi there');
  const resource = await c.readResource({ uri: 'fixture://hello' });
  expect(resource.contents[0]).toMatchObject({ uri: 'fixture://hello', text: 'hello from the fixture' });
  const prompt = await c.getPrompt({ name: 'greet', arguments: { who: 'Bob' } });
  expect(prompt.messages[0].content).toEqual({ type: 'text', text: 'Hello, Bob!' });
});
