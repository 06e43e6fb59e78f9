import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../../../src/config/app-config.js';
import { PEER_LOG_LINES_PER_SECOND } from '../../../src/reverse-proxy/tunnel/log-budget.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import { ResumeTokens } from '../../../src/reverse-proxy/tunnel/resume-tokens.js';
import { TunnelProtocolService } from '../../../src/reverse-proxy/tunnel/tunnel-protocol.service.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

afterEach(() => jest.restoreAllMocks());

test('a tunnel flooding error frames gets a bounded share of the log, and the count of the rest', () => {
  const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const protocol = new TunnelProtocolService(new InMemorySessionRegistry(), loadConfig({ AUTH_REQUIRED: 'false' }), new ResumeTokens());
  const socket = new FakeSocket();
  const session = new TunnelSession('sid-1', null, socket, { maxPending: 1 });
  const connection = { session, socket, adopt: () => undefined, drop: () => undefined, divert: () => undefined };
  for (let i = 0; i < 50; i++) protocol.handleFrame(connection, JSON.stringify({ type: 'error', message: `oops ${i}` }));
  const lines = warned.mock.calls.filter(([entry]) => (entry as { msg?: string }).msg === 'Tunnel reported an error');
  expect(lines).toHaveLength(PEER_LOG_LINES_PER_SECOND);
  expect(session.isOpen).toBe(true);
});
