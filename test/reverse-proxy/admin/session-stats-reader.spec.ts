import { BadGatewayException, ForbiddenException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { AccessRules } from '../../../src/auth/access-rules.js';
import type { Principal } from '../../../src/auth/principal.js';
import { SESSION_STATS_DOOR, SessionStatsReader } from '../../../src/reverse-proxy/admin/session-stats-reader.js';
import type { ExchangeDoor, ExchangeRelay } from '../../../src/reverse-proxy/cluster/exchange-relay.js';
import type { RelayedExchangeRequest } from '../../../src/reverse-proxy/cluster/relay-envelope.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import type { SessionRegistry } from '../../../src/reverse-proxy/tunnel/session-registry.js';
import type { SessionHandle } from '../../../src/reverse-proxy/tunnel/tunnel-handle.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

const alice: Principal = { user: 'alice', isAdmin: false, via: 'jwt' };
const bob: Principal = { user: 'bob', isAdmin: false, via: 'jwt' };
const ID = '0123456789abcdef0123456789abcdef';

/** An exchange relay between two readers in one process: what B forwards, A's door serves. */
class LoopRelay {
  readonly doors = new Map<string, ExchangeDoor>();
  forwarded: RelayedExchangeRequest[] = [];
  answer: ((request: RelayedExchangeRequest) => Promise<Response>) | undefined;

  serveWith(door: string, handler: ExchangeDoor): void {
    this.doors.set(door, handler);
  }

  forward(_replica: string, request: RelayedExchangeRequest): Promise<Response> {
    this.forwarded.push(request);
    if (this.answer) return this.answer(request);
    return this.doors.get(request.door)!(request, new AbortController().signal);
  }
}

let session: TunnelSession;
let holder: InMemorySessionRegistry;
let relay: LoopRelay;
let onA: SessionStatsReader;
let onB: SessionStatsReader;
/** The session as B sees it: a handle of another replica's tunnel, without stats. */
let remote: SessionHandle;

beforeEach(() => {
  session = new TunnelSession(ID, 'alice', new FakeSocket(), { maxPending: 3 });
  holder = new InMemorySessionRegistry();
  holder.add(session);
  relay = new LoopRelay();
  onA = new SessionStatsReader(holder, relay as unknown as ExchangeRelay);
  onA.onModuleInit();
  remote = { id: ID, name: 'tools', owner: 'alice' } as SessionHandle;
  const bView = { remoteReplicaOf: (h: SessionHandle) => (h === remote ? 'replica-a' : undefined) } as unknown as SessionRegistry;
  onB = new SessionStatsReader(bView, relay as unknown as ExchangeRelay);
});

afterEach(() => session.close('test over'));

async function oneCall(): Promise<void> {
  const answer = session.call({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 1000);
  session.receive({ jsonrpc: '2.0', id: 'gw-1', error: { code: -32601, message: 'nope' } });
  await answer;
}

test('a local session answers from its own stats', async () => {
  await oneCall();
  const stats = await onA.read(session, alice);
  expect(stats).toMatchObject({ session_id: ID, interval_s: 10, window_s: 600, calls_total: 1, errors_total: 1 });
  expect(stats.points).toHaveLength(60);
  expect(stats.points.at(-1)).toMatchObject({ calls: 1, errors: 1, p50_ms: expect.any(Number) });
  expect(relay.forwarded).toEqual([]);
});

test("another replica's session is read there through the exchange relay, with the caller's principal and no credentials", async () => {
  await oneCall();
  const stats = await onB.read(remote, alice);
  expect(stats).toEqual(await onA.read(session, alice));
  expect(relay.forwarded).toEqual([
    {
      door: SESSION_STATS_DOOR,
      name: 'tools',
      principal: { user: 'alice', isAdmin: false, via: 'jwt' },
      method: 'GET',
      url: `/reverse-proxy/sessions/${ID}/stats`,
      headers: [],
    },
  ]);
});

test('the holding replica authorises the relayed caller again, and knows only its own tunnels', async () => {
  await expect(onB.read(remote, bob)).rejects.toThrow(ForbiddenException);
  holder.share(session, AccessRules.from({ users: ['bob'] }));
  await expect(onB.read(remote, bob)).resolves.toMatchObject({ session_id: ID });
  session.close('gone');
  await expect(onB.read(remote, alice)).rejects.toThrow(NotFoundException);
  const door = relay.doors.get(SESSION_STATS_DOOR)!;
  const odd = { door: SESSION_STATS_DOOR, name: '', principal: alice, method: 'GET', url: '/reverse-proxy/sessions/../stats', headers: [] };
  await expect(door(odd as RelayedExchangeRequest, new AbortController().signal)).rejects.toThrow(NotFoundException);
});

test.each([
  ['not JSON', () => new Response('{')],
  [
    'another session',
    () => Response.json({ session_id: 'f'.repeat(32), interval_s: 10, window_s: 600, calls_total: 0, errors_total: 0, points: [] }),
  ],
  [
    'a bad point',
    () => Response.json({ session_id: ID, interval_s: 10, window_s: 600, calls_total: 0, errors_total: 0, points: [{ t: 'x' }] }),
  ],
  [
    'too many points',
    () =>
      Response.json({
        session_id: ID,
        interval_s: 10,
        window_s: 600,
        calls_total: 0,
        errors_total: 0,
        points: Array.from({ length: 61 }, (_, i) => ({ t: i, calls: 0, errors: 0, p50_ms: null, p99_ms: null })),
      }),
  ],
  ['too large', () => new Response('x'.repeat(70 * 1024))],
])('a relayed answer that is %s is a 502, not passed on', async (_what, answer) => {
  relay.answer = () => Promise.resolve(answer());
  await expect(onB.read(remote, alice)).rejects.toThrow(BadGatewayException);
});

test('a well-formed relayed answer keeps only the known fields', async () => {
  relay.answer = () =>
    Promise.resolve(
      Response.json({
        session_id: ID,
        interval_s: 10,
        window_s: 600,
        calls_total: 3,
        errors_total: 0,
        extra: 'dropped',
        points: [{ t: 1, calls: 3, errors: 0, p50_ms: 1.5, p99_ms: null, more: true }],
      }),
    );
  expect(await onB.read(remote, alice)).toEqual({
    session_id: ID,
    interval_s: 10,
    window_s: 600,
    calls_total: 3,
    errors_total: 0,
    points: [{ t: 1, calls: 3, errors: 0, p50_ms: 1.5, p99_ms: null }],
  });
});

test('without an exchange relay, a session without stats here cannot be read', async () => {
  const alone = new SessionStatsReader(holder, null);
  alone.onModuleInit();
  await expect(alone.read(remote, alice)).rejects.toThrow(ServiceUnavailableException);
});
