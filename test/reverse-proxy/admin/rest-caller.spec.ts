import type { TunnelCaller } from '../../../src/reverse-proxy/tunnel/call-context.js';
import { RestCaller } from '../../../src/reverse-proxy/admin/rest-caller.js';
import type { SessionEvent } from '../../../src/reverse-proxy/tunnel/session-event.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

/** A REST user's calls cannot reach into another caller's: progress tokens are rewritten, cancellation is scoped. */

let socket: FakeSocket;
let session: TunnelSession;
let events: SessionEvent[];
const alice = { user: 'alice', isAdmin: false, via: 'jwt' as const };
const bob = { user: 'bob', isAdmin: false, via: 'jwt' as const };

function mcpClient(): TunnelCaller & { progress: unknown[] } {
  const progress: unknown[] = [];
  return { key: 'mcp-session-1', progress, onProgress: (n) => progress.push(n.params) };
}

const sentPayloads = () => socket.sent.filter((f) => f.type === 'request').map((f) => f.payload);

beforeEach(() => {
  socket = new FakeSocket();
  session = new TunnelSession('sid', null, socket, { maxPending: 10 });
  events = [];
  session.events$.subscribe((e) => events.push(e));
});
afterEach(() => session.close('test over'));

test("a REST progress token naming another call's tunnel id is rewritten, so that call's caller never sees it", () => {
  const client = mcpClient();
  void session
    .call({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 'p' } } }, 1000, client)
    .catch(() => undefined);
  void new RestCaller(session, alice)
    .call({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { _meta: { progressToken: 'gw-1' } } }, 1000)
    .catch(() => undefined);
  expect(sentPayloads()[1]).toMatchObject({ id: 'gw-2', params: { _meta: { progressToken: 'gw-2' } } });

  session.receive({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'gw-2', progress: 5 } });
  expect(client.progress).toEqual([]);
  // The REST caller follows its progress on the SSE stream, under its own token.
  expect(events).toContainEqual({
    type: 'notification',
    payload: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'gw-1', progress: 5 } },
  });
});

test("a REST caller cancels its own call by its own id, never another caller's", async () => {
  const client = mcpClient();
  const mcpCall = session.call({ jsonrpc: '2.0', id: 1, method: 'tools/call' }, 1000, client);
  const rest = new RestCaller(session, alice);
  const restCall = rest.call({ jsonrpc: '2.0', id: 'mine', method: 'tools/call' }, 1000);

  expect(rest.cancel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gw-1' } })).toBe('not-yours');
  expect(rest.cancel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } })).toBe('not-yours');
  expect(new RestCaller(session, bob).cancel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mine' } })).toBe(
    'not-yours',
  );
  expect(rest.cancel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: {} })).toBe('no-request-id');
  expect(session.pendingCount).toBe(2);

  expect(
    rest.cancel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mine', reason: 'enough' } }),
  ).toBeUndefined();
  await expect(restCall).rejects.toMatchObject({ reason: 'cancelled' });
  const cancels = sentPayloads().filter((p) => p.method === 'notifications/cancelled');
  expect(cancels).toEqual([{ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gw-2', reason: 'enough' } }]);

  session.receive({ jsonrpc: '2.0', id: 'gw-1', result: { ok: true } });
  expect(await mcpCall).toEqual({ jsonrpc: '2.0', id: 1, result: { ok: true } });
});
