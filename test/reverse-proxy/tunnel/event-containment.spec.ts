import type { MessageEvent } from '@nestjs/common';
import { Subject } from 'rxjs';
import { TunnelEventFanout } from '../../../src/mcp/tunnel-event-fanout.service.js';
import type { RegistryChange } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import { sessionStream } from '../../../src/reverse-proxy/admin/session-stream.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';
import { recordContainedErrors } from '../../support/contained-errors.js';

/**
 * An error inside one session's event handling stays there. RxJS rethrows a subscriber's error on a
 * timer (which would end the process); here `onUnhandledError` records instead, so a leak shows up
 * as a failed assertion rather than a dead test worker. (The same inside a running gateway:
 * event-containment.e2e.spec.ts.)
 */
const { unhandled, logged } = recordContainedErrors();
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const note = (data: unknown) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data } });

test('an SSE event that cannot be serialized is dropped; the stream carries on and nothing escapes', async () => {
  const session = new TunnelSession('sid-1', 'alice', new FakeSocket(), { maxPending: 3 });
  const received: MessageEvent[] = [];
  sessionStream(session, { keepaliveMs: 60_000, maxBacklog: 3, isBackedUp: () => false }).subscribe((m) => received.push(m));
  session.publish({ type: 'notification', payload: note(10n) });
  session.publish({ type: 'notification', payload: note(11n) });
  session.publish({ type: 'notification', payload: note('fine') });
  session.close('done');
  await settle();
  expect(unhandled).toEqual([]);
  expect(logged()).toHaveBeenCalledTimes(1);
  expect(received.map((m) => m.type)).toEqual(['connected', 'notification', 'closed']);
  expect(received[1].data).toBe(JSON.stringify(note('fine')));
});

test('a notification the MCP fan-out fails to deliver is contained to that tunnel', async () => {
  const changes = new Subject<RegistryChange>();
  let failing = false;
  const sessions = {
    ofServer: () => {
      if (failing) throw new Error('store broke');
      return [];
    },
  };
  const stub = { restore: () => undefined, publish: () => undefined, forgetTools: () => undefined };
  const fanout = new TunnelEventFanout(
    { changes$: changes } as never,
    sessions as never,
    {} as never,
    stub as never,
    stub as never,
    stub as never,
  );
  fanout.onModuleInit();
  const tunnel = new TunnelSession('sid-2', 'alice', new FakeSocket(), { maxPending: 3 });
  tunnel.register({ name: 'fan', capabilities: {} });
  changes.next({ type: 'registered', session: tunnel });
  failing = true;
  tunnel.publish({ type: 'notification', payload: note('one') });
  tunnel.publish({ type: 'notification', payload: note('two') });
  await settle();
  expect(unhandled).toEqual([]);
  expect(logged()).toHaveBeenCalledTimes(1);
  expect(tunnel.isOpen).toBe(true);
  fanout.onModuleDestroy();
  tunnel.close('done');
});
