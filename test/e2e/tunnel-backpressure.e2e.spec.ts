import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Socket } from 'node:net';
import { JsonRpcErrorCode } from '../../src/protocol/json-rpc.js';
import { SessionRegistry } from '../../src/reverse-proxy/tunnel/session-registry.js';
import type { SessionHandle } from '../../src/reverse-proxy/tunnel/tunnel-handle.js';
import type { TunnelSocket } from '../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectStreamable } from '../support/mcp-clients.js';
import { eventually } from '../support/wait.js';

/**
 * A tunnel that stops reading its socket: the gateway queues at most TUNNEL_MAX_BUFFERED_BYTES (plus
 * one message) for it, refuses the rest with 503 / a JSON-RPC error, and drops the tunnel once it
 * has stayed over the limit for TUNNEL_STUCK_TIMEOUT_MS.
 */

const MAX_BUFFERED = 1024 * 1024;
const MESSAGE_BYTES = 256 * 1024;
const STUCK_MS = 1500;

let gw: RunningGateway;
let token: string;
let tunnel: FakeTunnel;
let sessionId: string;
let client: Client;

beforeAll(async () => {
  gw = await startGateway({
    TUNNEL_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
    TUNNEL_STUCK_TIMEOUT_MS: String(STUCK_MS),
    PING_INTERVAL_MS: '200',
    IDLE_TIMEOUT_MS: '60000',
  });
  token = gw.mintToken('alice@example.com');
  ({ tunnel, sessionId } = await FakeTunnel.register(gw.tunnelUrl, token, { name: 'stuck', version: '1', capabilities: { tools: {} } }));
  ({ client } = await connectStreamable(gw.httpUrl, 'stuck', token));
});
afterAll(async () => {
  await client.close().catch(() => undefined);
  tunnel.ws.terminate();
  await gw.close();
});

/** What the gateway has queued for the tunnel and not yet handed to the kernel. */
function gatewayBuffered(session: SessionHandle): number {
  return (session as unknown as { socket: TunnelSocket }).socket.bufferedAmount ?? 0;
}

test('a tunnel that stops reading gets a bounded queue, its callers 503 / -32003, and is closed once stuck', async () => {
  const session = gw.app.get(SessionRegistry).get(sessionId)!;
  // A call in flight when the tunnel stops reading; it fails when the tunnel is dropped.
  const inFlight = http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token,
    body: { jsonrpc: '2.0', id: 'waiting', method: 'tools/list' },
  });
  await tunnel.next((f) => f.payload?.id !== undefined && f.payload?.method === 'tools/list');
  (tunnel.ws as unknown as { _socket: Socket })._socket.pause();

  const notification = { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'x'.repeat(MESSAGE_BYTES) } };
  const statuses: number[] = [];
  let refusal: any;
  let maxBuffered = 0;
  // 80 x 256 KiB = 20 MiB: more than the loopback socket buffers and the limit together.
  for (let i = 0; i < 80 && statuses.at(-1) !== 503; i++) {
    const res = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, { token, body: notification });
    statuses.push(res.status);
    if (res.status === 503) refusal = res.body;
    maxBuffered = Math.max(maxBuffered, gatewayBuffered(session));
  }
  expect(statuses.at(-1)).toBe(503);
  expect(refusal.message).toBe('The tunnel is not reading; try again later');
  expect(new Set(statuses.slice(0, -1))).toEqual(new Set([202]));
  // Never more than the limit plus the one message that crossed it (and frame headers).
  expect(maxBuffered).toBeGreaterThanOrEqual(MAX_BUFFERED);
  expect(maxBuffered).toBeLessThan(MAX_BUFFERED + MESSAGE_BYTES + 1024);

  // Still refused, and the queue does not grow (but for the liveness timer's pings: 2 bytes each).
  const again = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, { token, body: notification });
  expect(again.status).toBe(503);
  expect(gatewayBuffered(session)).toBeLessThanOrEqual(maxBuffered + 64);

  // The MCP door maps the same refusal to a JSON-RPC error.
  const mcp = await client.callTool({ name: 'anything', arguments: {} }).catch((err: unknown) => err);
  expect(mcp).toBeInstanceOf(McpError);
  expect((mcp as McpError).code).toBe(JsonRpcErrorCode.TunnelBusy);
  expect((mcp as McpError).message).toContain('The tunnel is not reading');

  // Over the limit for the stuck timeout: the tunnel is dropped and its call fails.
  await eventually(() => !session.isOpen, 'the stuck tunnel to be closed', STUCK_MS + 3000);
  expect(session.closeReason).toBe('tunnel not reading');
  expect(gw.app.get(SessionRegistry).get(sessionId)).toBeUndefined();
  const failed = await inFlight;
  expect(failed.status).toBe(502);
  expect(failed.body.message).toBe('The tunnel closed (tunnel not reading)');
});
