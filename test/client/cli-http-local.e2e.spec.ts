/**
 * The real CLI tunnelling a local server that already speaks HTTP (Streamable HTTP, or the older
 * SSE transport): the fixture served by test/fixtures/http-mcp-server.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { CliProcess, killAll } from './helpers/cli-process.js';
import { MockGateway } from './helpers/mock-gateway.js';

let server: ChildProcess;
let port: number;
let gw: MockGateway;

beforeAll(async () => {
  server = spawn(process.execPath, [resolve(process.cwd(), 'test/fixtures/http-mcp-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((done, fail) => {
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const match = chunk.match(/listening (\d+)/);
      if (match) done(Number(match[1]));
    });
    server.once('exit', (code) => fail(new Error(`the HTTP fixture exited with ${code}`)));
  });
});
afterAll(async () => {
  const exited = new Promise((done) => server.once('exit', done));
  server.kill();
  await exited;
});
beforeEach(async () => {
  gw = await MockGateway.start();
});
afterEach(async () => {
  await killAll();
  await gw.close();
});

test.each([
  ['--local-streamable-http', '/mcp', 'streamable-http'],
  ['--local-sse', '/sse', 'sse'],
])('%s: registers the server and relays calls, notifications and server-initiated requests', async (flag, path, protocol) => {
  const cli = new CliProcess([flag, `http://127.0.0.1:${port}${path}`, '--gateway', gw.url, '--token', 't']);
  const conn = await gw.nextConnection();
  const register = await conn.next('register');
  expect(register.server).toMatchObject({ name: 'fixture-server', protocol, serverInfo: { name: 'fixture-server', version: '1.2.3' } });

  const echo = await conn.call('e1', 'tools/call', { name: 'echo', arguments: { text: `over ${protocol}` } });
  expect(echo.result.content[0].text).toBe(`over ${protocol}`);

  const progress = await conn.call('p1', 'tools/call', { name: 'progress', arguments: { steps: 2 }, _meta: { progressToken: 'pt' } });
  expect(progress.result.content[0].text).toBe('done 2');
  expect(conn.frames.all.filter((f) => f.type === 'notification').map((f) => f.payload.params.progress)).toEqual([1, 2]);

  conn.deliver({ id: 's1', method: 'tools/call', params: { name: 'sample', arguments: { prompt: 'hi' } } });
  const ask = await conn.next('request');
  expect(ask.payload.method).toBe('sampling/createMessage');
  conn.deliver({ id: ask.payload.id, result: { role: 'assistant', model: 'm', content: { type: 'text', text: 'hello' } } });
  const sampled = await conn.next((f) => f.type === 'response' && f.payload.id === 's1');
  expect(sampled.payload.result.content[0].text).toBe('sampled: hello');

  cli.kill('SIGTERM');
  await conn.next('unregister');
  expect((await cli.waitForExit()).code).toBe(0);
});
