/**
 * The caller's identity in `_meta` (docs/protocol.md, "Caller identity"): only for a tunnel that
 * asked, from the verified principal, and never what a caller wrote there itself.
 */
import { CALLER_META_KEY } from '../../../src/protocol/envelopes.js';
import type { TunnelCaller } from '../../../src/reverse-proxy/tunnel/call-context.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

const alice: TunnelCaller = {
  key: 'mcp-1',
  onProgress: () => undefined,
  principal: { user: 'alice', isAdmin: false, via: 'jwt', groups: ['eng'] },
};

function session(forwardIdentity: boolean): { session: TunnelSession; socket: FakeSocket } {
  const socket = new FakeSocket();
  const s = new TunnelSession('sid', 'owner', socket, { maxPending: 10 });
  s.register({ name: 'srv' }, { forwardIdentity });
  return { session: s, socket };
}

const spoofed = { user: 'mallory', groups: ['admins'], via: 'jwt' };

test('a tunnel that asked gets the verified caller, in place of what the caller wrote there', () => {
  const { session: s, socket } = session(true);
  s.call(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { [CALLER_META_KEY]: spoofed, other: 1 } } },
    1000,
    alice,
  ).catch(() => undefined);
  const sent = socket.sent[0].payload;
  expect(sent.params._meta[CALLER_META_KEY]).toEqual({ user: 'alice', groups: ['eng'], via: 'jwt' });
  expect(sent.params._meta.other).toBe(1);
  expect(sent.params.name).toBe('x');
  // No token anywhere: only user, groups, via.
  expect(Object.keys(sent.params._meta[CALLER_META_KEY]).sort()).toEqual(['groups', 'user', 'via']);
  s.close('done');
});

test('a request without params gets them, with the identity', () => {
  const { session: s, socket } = session(true);
  s.call({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 1000, alice).catch(() => undefined);
  expect(socket.sent[0].payload.params).toEqual({ _meta: { [CALLER_META_KEY]: { user: 'alice', groups: ['eng'], via: 'jwt' } } });
  s.close('done');
});

test('a tunnel that did not ask gets no identity, and a spoofed one is removed', () => {
  const { session: s, socket } = session(false);
  s.call(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { [CALLER_META_KEY]: spoofed, progressToken: 'p' } } },
    1000,
    alice,
  ).catch(() => undefined);
  const meta = socket.sent[0].payload.params._meta;
  expect(meta).not.toHaveProperty([CALLER_META_KEY]);
  // The progress token is still rewritten as before (the call's tunnel id).
  expect(meta.progressToken).toBe(socket.sent[0].payload.id);
  s.close('done');
});

test("the gateway's own calls (no caller) carry no identity; notifications are stripped too", () => {
  const { session: s, socket } = session(true);
  s.call({ jsonrpc: '2.0', id: 'gw', method: 'ping', params: { _meta: { [CALLER_META_KEY]: spoofed } } }, 1000).catch(() => undefined);
  s.forward({ jsonrpc: '2.0', method: 'notifications/roots/list_changed', params: { _meta: { [CALLER_META_KEY]: spoofed } } });
  expect(socket.sent[0].payload.params._meta).toEqual({});
  expect(socket.sent[1].payload.params._meta).toEqual({});
  s.close('done');
});
