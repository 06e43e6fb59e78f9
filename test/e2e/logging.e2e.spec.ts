import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { signToken } from '../../src/auth/sign-token.js';
import { logLevels } from '../../src/common/log-levels.js';
import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { eventually } from '../support/wait.js';

/** Collects what the gateway's JSON logger writes. */
class CapturingLogger extends ConsoleLogger {
  readonly lines: string[] = [];
  protected override printMessages(...args: Parameters<ConsoleLogger['printMessages']>): void {
    const [messages, context, logLevel] = args;
    for (const message of messages) {
      this.lines.push(JSON.stringify({ level: logLevel, context, message }));
    }
  }
}

let gw: RunningGateway;
let logger: CapturingLogger;
let base: string;

beforeAll(async () => {
  logger = new CapturingLogger({ json: true, logLevels: logLevels('debug') });
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
  await eventually(() => logger.lines.some((l) => l.includes('Tunnel disconnected')), 'the disconnect to be logged');

  const all = logger.lines.join('\n');
  for (const secret of [token, expired, TEST_SECRET, token.split('.')[2], expired.split('.')[2]]) {
    expect(all.includes(secret)).toBe(false);
  }
  const entries = logger.lines.map((l) => JSON.parse(l) as { message: Record<string, unknown> });
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
