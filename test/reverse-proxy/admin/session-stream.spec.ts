import { jest } from '@jest/globals';
import type { MessageEvent } from '@nestjs/common';
import { sessionStream, type SessionStreamOptions } from '../../../src/reverse-proxy/admin/session-stream.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

const options: SessionStreamOptions = { keepaliveMs: 60_000, maxBacklog: 3, isBackedUp: () => false };

let session: TunnelSession;

beforeEach(() => {
  session = new TunnelSession('sid-1', 'alice', new FakeSocket(), { maxPending: 3 });
});

afterEach(() => {
  session.close('test over');
  jest.restoreAllMocks();
});

function follow(): MessageEvent[] {
  const received: MessageEvent[] = [];
  sessionStream(session, options).subscribe((message) => received.push(message));
  return received;
}

test('every subscriber gets connected, then each event with its payload as JSON, then closed', () => {
  const a = follow();
  const b = follow();
  const payload = { jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data: 'line\nbreak' } };
  session.publish({ type: 'notification', payload });
  session.close('gone');
  for (const received of [a, b]) {
    expect(received.map((m) => m.type)).toEqual(['connected', 'notification', 'closed']);
    expect(received[1].data).toBe(JSON.stringify(payload));
    expect(received[2].data).toEqual({ sessionId: 'sid-1', reason: 'gone' });
  }
});

test('an event reaching many subscribers is serialized once, not once per subscriber', () => {
  const streams = Array.from({ length: 5 }, follow);
  const payload = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
  const stringify = jest.spyOn(JSON, 'stringify');
  session.publish({ type: 'notification', payload });
  expect(stringify.mock.calls.filter(([value]) => value === payload)).toHaveLength(1);
  expect(streams.every((received) => received.at(-1)!.data === JSON.stringify(payload))).toBe(true);
});
