/**
 * The tunnel endpoint's front door, on a real gateway: an upgrade to a path it does not serve is
 * answered 404 (a client can name the mistake) instead of a reset, and register_ack tells the
 * client its MCP URL only when the gateway knows its public URL.
 */
import { loadConfig } from '../../../src/config/app-config.js';
import { HostAllowList } from '../../../src/config/allowed-hosts.js';
import { closeTunnels, FakeTunnel } from '../../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { RawSocket } from '../../support/raw-socket.js';

const open: FakeTunnel[] = [];
afterEach(() => closeTunnels(open));

/** What the gateway answers to a raw WebSocket upgrade of `path`, once it has closed the connection. */
async function rawUpgrade(port: number, path: string, extraHeaders = ''): Promise<string> {
  const socket = await RawSocket.open(port);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extraHeaders}\r\n`,
  );
  await socket.closed;
  return socket.received;
}

/** Registers `name` over a tunnel opened with `headers`; returns the register_ack. */
async function registerAck(gw: RunningGateway, name: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${gw.mintToken('alice@example.com')}`, ...headers });
  open.push(tunnel);
  tunnel.send({ type: 'register', server: { name, capabilities: {} } });
  return tunnel.next((f) => f.type === 'register_ack');
}

describe('upgrades', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  test.each(['/nope', '/servers/x/mcp', '/', '/reverse-proxy/wsx', '/reverse-proxy/ws/extra'])(
    'an upgrade to %s is answered 404 with the tunnel path, not reset',
    async (path) => {
      const answer = await rawUpgrade(gw.port, path);
      expect(answer).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
      expect(answer).toMatch(/\r\n\r\nNot Found: the tunnel endpoint is \/reverse-proxy\/ws$/);
    },
  );

  test('the tunnel path and its alias still reach admission (401 without a token), and with one they open', async () => {
    expect(await rawUpgrade(gw.port, '/reverse-proxy/ws')).toMatch(/^HTTP\/1\.1 401 /);
    expect(await rawUpgrade(gw.port, '/reverse-proxy?x=1')).toMatch(/^HTTP\/1\.1 401 /);
    const tunnel = await FakeTunnel.connect(`${gw.wsUrl}/reverse-proxy`, { Authorization: `Bearer ${gw.mintToken('alice@example.com')}` });
    open.push(tunnel);
    tunnel.send({ type: 'register', server: { name: 'via-alias', capabilities: {} } });
    expect(await tunnel.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success' });
  });

  test('register_ack carries the MCP URL built from a Host that names the gateway, and none from one that does not', async () => {
    expect((await registerAck(gw, 'by-host')).mcpUrl).toBe(`${gw.httpUrl}/servers/by-host/mcp`);
    const rebound = await registerAck(gw, 'by-other-host', { Host: 'evil.example' });
    expect(rebound.status).toBe('success');
    expect(rebound).not.toHaveProperty('mcpUrl');
  });
});

test('with PUBLIC_URL, register_ack carries the MCP URL built from it, whatever the Host', async () => {
  const gw = await startGateway({ PUBLIC_URL: 'https://mcp.example.com' });
  try {
    expect((await registerAck(gw, 'notes', { Host: 'evil.example' })).mcpUrl).toBe('https://mcp.example.com/servers/notes/mcp');
  } finally {
    await closeTunnels(open);
    await gw.close();
  }
});

test('HostAllowList.publicBaseUrl: PUBLIC_URL, else a Host that names the gateway (https only over TLS), else nothing', () => {
  const config = (env: Record<string, string>) => loadConfig({ AUTH_REQUIRED: 'false', PORT: '3000', ...env });
  const hosts = new HostAllowList(config({ ALLOWED_HOSTS: 'gw.internal' }));
  expect(hosts.publicBaseUrl('localhost:3000', false)).toBe('http://localhost:3000');
  expect(hosts.publicBaseUrl('gw.internal', true)).toBe('https://gw.internal');
  expect(hosts.publicBaseUrl('evil.example', false)).toBeUndefined();
  expect(hosts.publicBaseUrl('localhost:4000', false)).toBeUndefined();
  expect(hosts.publicBaseUrl(undefined, false)).toBeUndefined();
  expect(new HostAllowList(config({ PUBLIC_URL: 'https://mcp.example.com' })).publicBaseUrl('evil.example', false)).toBe(
    'https://mcp.example.com',
  );
});
