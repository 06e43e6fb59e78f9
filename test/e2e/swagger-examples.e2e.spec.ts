/**
 * Every request example the API docs offer for POST /reverse-proxy/sessions/:id/request works when
 * sent as is (what "Try it out" sends) to the walk-through's server, `@modelcontextprotocol/server-everything`,
 * behind the real tunnel client CLI and the real gateway: the status its summary promises, and a
 * JSON-RPC result rather than an error or a timeout. The docs' 200 example is the real answer's shape.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { CliProcess, killAll } from '../client/helpers/cli-process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { eventually } from '../support/wait.js';

const requireFromRoot = createRequire(resolve(process.cwd(), 'package.json'));
const EVERYTHING_ENTRY = join(dirname(requireFromRoot.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');

let gw: RunningGateway;
let token: string;
let sessionId: string;
let operation: any;

beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('erin@example.com');
  const cli = new CliProcess([
    '--local-stdio',
    `"${process.execPath}" "${EVERYTHING_ENTRY}" stdio`,
    '--gateway',
    gw.wsUrl,
    '--token',
    token,
    '--name',
    'everything',
  ]);
  await cli.waitForLog(/registered as "everything"/, 20_000);
  sessionId = await eventually(
    async () => {
      const { body } = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token });
      return (body.sessions as { session_id: string; state: string }[]).find((s) => s.state === 'ready')?.session_id;
    },
    'the tunnelled server-everything to be ready',
    20_000,
  );
  operation = (await http('GET', `${gw.httpUrl}/docs-json`)).body.paths['/reverse-proxy/sessions/{id}/request'].post;
}, 40_000);

afterAll(async () => {
  await killAll();
  await gw?.close();
});

test('each request example, sent as is, gets the answer its summary promises', async () => {
  const examples = Object.entries(
    operation.requestBody.content['application/json'].examples as Record<string, { summary: string; value: any }>,
  );
  expect(examples.length).toBeGreaterThanOrEqual(3);
  for (const [name, { summary, value }] of examples) {
    // A short wait: an example the server does not understand must fail here, not hang to the default timeout.
    const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request?timeout_ms=5000`, { token, body: value });
    const promised = Number(/\((\d{3})\)$/.exec(summary)?.[1]);
    expect([name, res.status]).toEqual([name, promised]);
    if (res.status === 200) {
      expect([name, res.body.id, 'result' in res.body, res.body.error]).toEqual([name, value.id, true, undefined]);
      expect([name, res.body.result.isError]).not.toEqual([name, true]);
    }
  }
});

test("the 200 example is the tools/call example's real answer", async () => {
  const call = operation.requestBody.content['application/json'].examples['tools/call'].value;
  const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, { token, body: call });
  expect(res.body).toEqual(operation.responses['200'].content['application/json'].example);
});
