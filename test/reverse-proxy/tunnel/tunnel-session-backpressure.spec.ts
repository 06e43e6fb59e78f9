import { CallError } from '../../../src/reverse-proxy/tunnel/pending-calls.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

/** A tunnel that stops reading: its callers are refused at once, and it is closed once stuck. */

class SlowSocket extends FakeSocket {
  bufferedAmount = 0;
  terminated = 0;
  terminate(): void {
    this.terminated++;
  }
}

let socket: SlowSocket;
let session: TunnelSession;
let now: number;

beforeEach(() => {
  now = 0;
  socket = new SlowSocket();
  session = new TunnelSession(
    'sid',
    'alice',
    socket,
    { maxPending: 10, backlog: { maxBufferedBytes: 1000, stuckTimeoutMs: 5000 } },
    () => now,
  );
});
afterEach(() => session.close('test over'));

const request = { jsonrpc: '2.0' as const, id: 1, method: 'tools/list' };

test('over the byte limit, calls and messages are refused with CallError("overloaded") and nothing is queued', () => {
  socket.bufferedAmount = 1000;
  const sentBefore = socket.sent.length;
  expect(() => session.call(request, 1000)).toThrow(
    expect.objectContaining({ reason: 'overloaded', message: 'The tunnel is not reading; try again later' }),
  );
  expect(() => session.forward({ jsonrpc: '2.0', method: 'notifications/x' })).toThrow(CallError);
  expect(socket.sent.length).toBe(sentBefore);
  expect(session.pendingCount).toBe(0);
  socket.bufferedAmount = 999;
  void session.call(request, 1000).catch(() => undefined);
  expect(session.pendingCount).toBe(1);
});

test('a tunnel over the limit for the stuck timeout is closed ("tunnel not reading") and its calls fail', async () => {
  const call = session.call(request, 60_000);
  socket.bufferedAmount = 5000;
  expect(session.closeIfStuck()).toBe(false);
  now += 4999;
  expect(session.closeIfStuck()).toBe(false);
  now += 1;
  expect(session.closeIfStuck()).toBe(true);
  expect(session.isOpen).toBe(false);
  expect(session.closeReason).toBe('tunnel not reading');
  expect(socket.terminated).toBe(1);
  await expect(call).rejects.toMatchObject({ reason: 'closed' });
});

test('a refused send on a tunnel stuck long enough closes it there and then', () => {
  socket.bufferedAmount = 5000;
  expect(() => session.forward({ jsonrpc: '2.0', method: 'n' })).toThrow(expect.objectContaining({ reason: 'overloaded' }));
  now += 5000;
  expect(() => session.forward({ jsonrpc: '2.0', method: 'n' })).toThrow(expect.objectContaining({ reason: 'closed' }));
  expect(session.closeReason).toBe('tunnel not reading');
});

test('abandonCalls fails every call with the given error and tells the server to cancel each', async () => {
  const a = session.call({ ...request, id: 'a' }, 60_000);
  const b = session.call({ ...request, id: 'b' }, 60_000);
  expect(session.abandonCalls(new CallError('shutdown', 'The gateway is shutting down'))).toBe(2);
  await expect(a).rejects.toMatchObject({ reason: 'shutdown' });
  await expect(b).rejects.toMatchObject({ reason: 'shutdown' });
  const cancels = socket.sent.filter((f) => f.payload?.method === 'notifications/cancelled').map((f) => f.payload.params.requestId);
  expect(cancels.sort()).toEqual(['gw-1', 'gw-2']);
  expect(session.pendingCount).toBe(0);
});
