import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.close());

test('a tool call goes through a tunnel and back', async () => {
  const token = gw.mintToken('alice@example.com');
  const { tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, token);
  tunnel.autoAnswer((p) => ({ result: { echoed: p.params } }));
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo' } }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 7, result: { echoed: { name: 'echo' } } });
  await tunnel.close();
});
