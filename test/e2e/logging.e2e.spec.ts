import 'reflect-metadata';
import { signToken } from '../../src/auth/sign-token.js';
import { GatewayLogger } from '../../src/common/gateway-logger.js';
import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { eventually } from '../support/wait.js';

/** What the gateway's JSON logger writes, line by line. */
const lines: string[] = [];

let gw: RunningGateway;
let base: string;

beforeAll(async () => {
  const logger = new GatewayLogger({ format: 'json', level: 'debug', write: (_stream, line) => void lines.push(line) });
  gw = await startGateway({ LOG_LEVEL: 'debug' }, { logger });
  base = `127.0.0.1:${gw.port}`;
});
afterAll(() => gw.close());

test('tokens never reach the logs; lines carry request id, session id and user', async () => {
  const token = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: '1h' });
  const expired = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: -10 });

  const tunnel = await FakeTunnel.connect(`ws://${base}/reverse-proxy/ws?token=${token}`);
  tunnel.send({ type: 'register', server: { name: 'logged', capabilities: {} } });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  await FakeTunnel.connect(`ws://${base}/reverse-proxy/ws?token=${expired}`).catch(() => undefined);
  await FakeTunnel.connect(`ws://${base}/reverse-proxy/ws`, { Authorization: `Bearer ${expired}` }).catch(() => undefined);
  await http('GET', `http://${base}/reverse-proxy/sessions?token=${token}`, { headers: { 'X-Request-ID': 'req-42' } });
  await http('GET', `http://${base}/reverse-proxy/sessions/${ack.sessionId}`, { token });
  await http('GET', `http://${base}/reverse-proxy/sessions`, { token: expired });
  await tunnel.close();
  await eventually(() => lines.some((l) => l.includes('Tunnel disconnected')), 'the disconnect to be logged');

  const all = lines.join('\n');
  for (const secret of [token, expired, TEST_SECRET, token.split('.')[2], expired.split('.')[2]]) {
    expect(all.includes(secret)).toBe(false);
  }
  const entries = lines.map((l) => JSON.parse(l) as { message: Record<string, unknown> });
  expect(entries.find((e) => e.message.requestId === 'req-42')?.message).toMatchObject({
    path: '/reverse-proxy/sessions',
    status: 200,
    user: 'alice@example.com',
  });
  expect(entries.find((e) => e.message.msg === 'Tunnel registered')?.message).toMatchObject({
    sessionId: ack.sessionId,
    user: 'alice@example.com',
    name: 'logged',
  });
  expect(entries.some((e) => e.message.msg === 'Tunnel upgrade refused' && e.message.reason === 'Token expired')).toBe(true);
});

test('JSON lines: one object per line, level names as configured and ISO 8601 timestamps', () => {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const entry = JSON.parse(line) as { level: string; timestamp: string };
    expect(['fatal', 'error', 'warn', 'info', 'debug']).toContain(entry.level);
    expect(entry.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  }
  // Nest's module and route listings are debug lines, not info.
  const mapped = lines.map((l) => JSON.parse(l) as { level: string; context?: string }).filter((e) => e.context === 'RouterExplorer');
  expect(mapped.length).toBeGreaterThan(0);
  expect(new Set(mapped.map((e) => e.level))).toEqual(new Set(['debug']));
});
