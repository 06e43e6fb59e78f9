/**
 * The caller's identity in `_meta` (docs/protocol.md, "Caller identity") through the real gateway's
 * REST and MCP doors, to a raw tunnel that records what it is sent: present only when the tunnel
 * asked, taken from the verified token, a caller's own value under the key never passes.
 */
import { CALLER_META_KEY } from '../../src/protocol/envelopes.js';
import { FakeTunnel, closeTunnels, type Frame } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';

let gw: RunningGateway;
const tunnels: FakeTunnel[] = [];

beforeAll(async () => {
  gw = await startGateway();
});
afterEach(() => closeTunnels(tunnels));
afterAll(() => gw.close());

/** A tunnel answering tools/call with the `_meta` it received (as text), and recording every request. */
async function tunnel(name: string, forwardIdentity: boolean): Promise<{ sessionId: string; received: Frame[] }> {
  const t = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('alice')}` });
  tunnels.push(t);
  const received: Frame[] = [];
  t.autoAnswer((payload) => {
    received.push(payload);
    if (payload.method === 'initialize') {
      return {
        result: { protocolVersion: payload.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name, version: '1' } },
      };
    }
    if (payload.method === 'tools/list') return { result: { tools: [] } };
    return { result: { content: [{ type: 'text', text: JSON.stringify(payload.params?._meta ?? null) }] } };
  });
  t.send({ type: 'register', server: { name, capabilities: { tools: {} } }, ...(forwardIdentity ? { forwardIdentity: true } : {}) });
  const ack = await t.next((f) => f.type === 'register_ack');
  await t.next((f) => f.type === 'register_complete');
  return { sessionId: ack.sessionId, received };
}

const spoofed = { user: 'root', groups: ['admins'], via: 'jwt' };
const callWithSpoof = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'who', _meta: { [CALLER_META_KEY]: spoofed } } };

test('REST door: an opted-in tunnel gets the verified caller; a spoofed value is replaced', async () => {
  const { sessionId } = await tunnel('with-identity', true);
  const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: callWithSpoof,
  });
  expect(res.status).toBe(200);
  const meta = JSON.parse(res.body.result.content[0].text);
  expect(meta[CALLER_META_KEY]).toEqual({ user: 'alice', groups: [], via: 'jwt' });
});

test('REST door: a tunnel that did not opt in gets no identity, and the spoofed value is removed', async () => {
  const { sessionId } = await tunnel('without-identity', false);
  const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: callWithSpoof,
  });
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body.result.content[0].text)).toEqual({});
});

test('MCP door (official SDK client): identity only when opted in, never the spoofed one', async () => {
  await tunnel('mcp-with', true);
  await tunnel('mcp-without', false);
  const token = gw.mintToken('alice');
  for (const [name, expected] of [
    ['mcp-with', { user: 'alice', groups: [], via: 'jwt' }],
    ['mcp-without', undefined],
  ] as const) {
    const { client } = await connectStreamable(gw.httpUrl, name, token);
    try {
      const result = await client.callTool({ name: 'who', arguments: {}, _meta: { [CALLER_META_KEY]: spoofed, marker: 'kept' } });
      const meta = JSON.parse(textOf(result)) ?? {};
      // The caller's _meta does reach the server (so the spoofed key was sent and removed on the way).
      expect(meta.marker).toBe('kept');
      expect(meta[CALLER_META_KEY]).toEqual(expected);
    } finally {
      await client.close();
    }
  }
});
