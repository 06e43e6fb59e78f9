import { jest } from '@jest/globals';
import { TunnelProtocolService } from '../../../src/reverse-proxy/tunnel/tunnel-protocol.service.js';
import { FakeTunnel } from '../../support/fake-tunnel.js';
import { startGateway } from '../../support/gateway.js';
import { recordContainedErrors } from '../../support/contained-errors.js';

/**
 * An error inside one session's event handling stays there, in a running gateway (the unit half:
 * event-containment.spec.ts). RxJS rethrows a subscriber's error on a timer (which would end the
 * process); here `onUnhandledError` records instead, so a leak shows up as a failed assertion
 * rather than a dead test worker.
 */
const { logged } = recordContainedErrors();

test('a frame handler that throws costs that frame only: the tunnel gets a fixed error, the session stays up', async () => {
  const gw = await startGateway({ AUTH_REQUIRED: 'false' });
  try {
    const protocol = gw.app.get(TunnelProtocolService);
    const original = protocol.handleFrame.bind(protocol);
    jest.spyOn(protocol, 'handleFrame').mockImplementation((connection, text) => {
      if (text.includes('boom')) throw new Error('internal detail that must not reach the peer');
      original(connection, text);
    });
    const { tunnel } = await FakeTunnel.register(gw.tunnelUrl, undefined, { name: 'contained', capabilities: {} });
    tunnel.send({ type: 'heartbeat', boom: true });
    expect(await tunnel.next()).toEqual({ type: 'error', message: 'Internal error' });
    tunnel.send({ type: 'heartbeat', boom: true });
    expect(await tunnel.next()).toEqual({ type: 'error', message: 'Internal error' });
    expect(
      logged().mock.calls.filter((call: unknown[]) => (call[0] as { msg?: string }).msg === 'Tunnel frame handler failed'),
    ).toHaveLength(1);
    tunnel.send({ type: 'heartbeat' });
    expect((await tunnel.next()).type).toBe('heartbeat');
    await tunnel.close();
  } finally {
    await gw.close();
  }
});
