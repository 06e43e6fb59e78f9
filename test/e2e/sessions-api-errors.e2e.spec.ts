import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';

/**
 * `POST /reverse-proxy/sessions/:id/request`: a body that is no JSON-RPC 2.0 message is refused at
 * once, and a call that gets no answer is answered with the status of its reason in CALL_FAILURES
 * (src/reverse-proxy/call-error.ts), in the gateway's error shape.
 */

let gw: RunningGateway;
let token: string;
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  // A long default timeout: a message the gateway let through would hang the test instead of passing it.
  gw = await startGateway({ REQUEST_TIMEOUT_MS: '60000' });
  token = gw.mintToken('alice@example.com');
});
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((t) => t.close()));
});
afterAll(() => gw.close());

async function register(name: string): Promise<{ tunnel: FakeTunnel; url: string }> {
  const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, token, { name, capabilities: { tools: {} } });
  tunnels.push(tunnel);
  return { tunnel, url: `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request` };
}

const requestsSent = (tunnel: FakeTunnel) => tunnel.frames.filter((f) => f.type === 'request');

test.each([
  ['a request without jsonrpc', { id: 1, method: 'tools/list' }],
  ['a request with jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'tools/list' }],
  ['a notification without jsonrpc', { method: 'notifications/x' }],
  ['an answer with jsonrpc 2', { jsonrpc: 2, id: 'x', result: {} }],
])('%s: 400 at once, and nothing goes down the tunnel', async (_what, body) => {
  const { tunnel, url } = await register('strict-jsonrpc');
  const started = Date.now();
  const res = await http('POST', url, { token, body });
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    statusCode: 400,
    error: 'Bad Request',
    message: expect.stringMatching(/^Body must be one JSON-RPC 2.0 message/),
  });
  expect(Date.now() - started).toBeLessThan(5000);
  // A marker frame round-trips: anything sent before it would have arrived first.
  tunnel.send({ type: 'marker' });
  await tunnel.next((f) => f.type === 'error');
  expect(requestsSent(tunnel)).toEqual([]);
});

test('a call with no answer within timeout_ms: 504 in the gateway shape', async () => {
  const { url } = await register('no-answer');
  const res = await http('POST', `${url}?timeout_ms=50`, { token, body: { jsonrpc: '2.0', id: 1, method: 'slow' } });
  expect(res.status).toBe(504);
  expect(res.body).toEqual({
    statusCode: 504,
    error: 'Gateway Timeout',
    message: 'No answer from the tunnel within 50 ms',
    detail: 'No answer from the tunnel within 50 ms',
  });
});

test('a call whose tunnel closes: 502 in the gateway shape', async () => {
  const { tunnel, url } = await register('closing');
  const call = http('POST', url, { token, body: { jsonrpc: '2.0', id: 1, method: 'slow' } });
  await tunnel.next((f) => f.type === 'request');
  tunnel.ws.terminate();
  const res = await call;
  expect(res.status).toBe(502);
  expect(res.body).toMatchObject({ statusCode: 502, error: 'Bad Gateway', message: expect.stringMatching(/^The tunnel closed/) });
});

test("?token= is the auth hook's, not an unknown option; other unknown options are still refused", async () => {
  const { tunnel, url } = await register('query-token');
  tunnel.autoAnswer(() => ({ result: 'ok' }));
  const withToken = await http('POST', `${url}?token=${token}&timeout_ms=5000`, { body: { jsonrpc: '2.0', id: 1, method: 'x' } });
  expect([withToken.status, withToken.body.result]).toEqual([200, 'ok']);
  const onlyToken = await http('POST', `${url}?token=${token}`, { body: { jsonrpc: '2.0', id: 2, method: 'x' } });
  expect([onlyToken.status, onlyToken.body.result]).toEqual([200, 'ok']);
  const unknown = await http('POST', `${url}?tokne=1`, { token, body: { jsonrpc: '2.0', id: 3, method: 'x' } });
  expect([unknown.status, unknown.body.message]).toEqual([400, 'property tokne should not exist']);
});
