import WebSocket from 'ws';
import { SessionRegistry } from '../../src/reverse-proxy/tunnel/session-registry.js';
import { signToken } from '../../src/auth/sign-token.js';
import { FakeTunnel, type Frame, closeTunnels } from '../support/fake-tunnel.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { json, SseStream } from '../support/sse.js';
import { eventually } from '../support/wait.js';

const open: { gw: RunningGateway; tunnel: FakeTunnel }[] = [];
const streams: SseStream[] = [];

// Every test starts on a gateway without sessions, so list assertions see only their own.
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  const gateways = new Set(open.map((o) => o.gw));
  await closeTunnels(open.splice(0).map(({ tunnel }) => tunnel));
  for (const gw of gateways) {
    await eventually(() => gw.app.get(SessionRegistry).list().length === 0, 'the sessions of the test to close');
  }
});

async function register(gw: RunningGateway, token: string | undefined, name?: string) {
  const server = name ? { name, version: '1.0.0', capabilities: { tools: {} } } : undefined;
  const result = await FakeTunnel.register(gw.tunnelUrl, token, server);
  open.push({ gw, tunnel: result.tunnel });
  return result;
}

const ids = (body: { sessions: { session_id: string }[] }) => body.sessions.map((s) => s.session_id).sort();

describe('with auth', () => {
  let gw: RunningGateway;
  let alice: string;
  let bob: string;
  let admin: string;

  const url = (path: string) => `${gw.httpUrl}/reverse-proxy${path}`;
  const post = (id: string, body: unknown, token = alice, query = '') =>
    http('POST', url(`/sessions/${id}/request${query}`), { token, body });

  beforeAll(async () => {
    gw = await startGateway();
    alice = gw.mintToken('alice@example.com');
    bob = gw.mintToken('bob@example.com');
    admin = gw.mintToken('root@example.com', { admin: true });
  });
  afterAll(() => gw.close());

  describe('list and get', () => {
    test('users see their own sessions, admins see all', async () => {
      const a = await register(gw, alice, 'alice-tools');
      const b = await register(gw, bob, 'bob-tools');
      const mine = await http('GET', url('/sessions'), { token: alice });
      expect(mine.status).toBe(200);
      expect(mine.body).toEqual({ sessions: [expect.objectContaining({ session_id: a.sessionId })], total: 1 });
      expect(ids((await http('GET', url('/sessions'), { token: bob })).body)).toEqual([b.sessionId]);
      const all = await http('GET', url('/sessions'), { token: admin });
      expect(ids(all.body)).toEqual([a.sessionId, b.sessionId].sort());
      expect(all.body.total).toBe(2);
      expect((await http('GET', url('/sessions'), { token: gw.mintToken('carol@example.com') })).body).toEqual({ sessions: [], total: 0 });
    });

    test('a session admin with the is_admin claim under user sees all too', async () => {
      const a = await register(gw, alice, 'nested-admin-check');
      const nested = new (await import('@nestjs/jwt')).JwtService().sign(
        { sub: 'ops@example.com', user: { is_admin: true } },
        { secret: TEST_SECRET, expiresIn: 3600 },
      );
      expect(ids((await http('GET', url('/sessions'), { token: nested })).body)).toEqual([a.sessionId]);
      expect((await http('GET', url(`/sessions/${a.sessionId}`), { token: nested })).status).toBe(200);
    });

    test('get shows one session in detail', async () => {
      const { sessionId } = await register(gw, alice, 'detailed');
      const res = await http('GET', url(`/sessions/${sessionId}`), { token: alice });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        session_id: sessionId,
        name: 'detailed',
        user: 'alice@example.com',
        state: 'ready',
        server_info: { name: 'detailed', version: '1.0.0', capabilities: { tools: {} } },
        connected_at: expect.any(String),
        last_activity: expect.any(String),
        message_count: 3,
        messages_in: 1,
        messages_out: 2,
        bytes_transferred: expect.any(Number),
        bytes_in: expect.any(Number),
        bytes_out: expect.any(Number),
        pending_requests: 0,
        suspended: false,
        role: 'owner',
        access: { users: [], groups: [], everyone: false },
      });
      expect(new Date(res.body.connected_at).toISOString()).toBe(res.body.connected_at);
      expect(res.body.bytes_transferred).toBe(res.body.bytes_in + res.body.bytes_out);
      expect(res.body.bytes_in).toBeGreaterThan(0);
    });

    test('get: another user gets 403, an admin 200, an unknown id 404', async () => {
      const { sessionId } = await register(gw, alice, 'guarded');
      const other = await http('GET', url(`/sessions/${sessionId}`), { token: bob });
      expect(other.status).toBe(403);
      expect(other.body.message).toBe('Not authorized for this session');
      expect((await http('GET', url(`/sessions/${sessionId}`), { token: admin })).status).toBe(200);
      const missing = await http('GET', url('/sessions/0123456789abcdef0123456789abcdef'), { token: alice });
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe('Session 0123456789abcdef0123456789abcdef not found');
      expect(missing.body.detail).toBe('Session 0123456789abcdef0123456789abcdef not found');
    });

    test('pending_requests shows calls in flight', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'busy-count');
      const call = post(sessionId, { jsonrpc: '2.0', id: 1, method: 'slow' });
      const req = await tunnel.next((f) => f.type === 'request');
      expect((await http('GET', url(`/sessions/${sessionId}`), { token: alice })).body.pending_requests).toBe(1);
      tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: req.payload.id, result: {} } });
      expect((await call).status).toBe(200);
      expect((await http('GET', url(`/sessions/${sessionId}`), { token: alice })).body.pending_requests).toBe(0);
    });
  });

  describe('auth on the admin API', () => {
    test('no token: 401', async () => {
      const res = await http('GET', url('/sessions'));
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Authentication required');
    });

    test('an expired token: 401 Token expired', async () => {
      const expired = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: -10 });
      const res = await http('GET', url('/sessions'), { token: expired });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Token expired');
    });

    test('a token that expires while in use is refused from then on (verified tokens are remembered only until exp)', async () => {
      const shortLived = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: 1 });
      expect((await http('GET', url('/sessions'), { token: shortLived })).status).toBe(200);
      expect((await http('GET', url('/sessions'), { token: shortLived })).status).toBe(200);
      const exp = (JSON.parse(Buffer.from(shortLived.split('.')[1], 'base64url').toString()) as { exp: number }).exp;
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
      const res = await http('GET', url('/sessions'), { token: shortLived });
      expect([res.status, res.body.message]).toEqual([401, 'Token expired']);
    });

    test('a bad signature, alg none, or no subject: 401', async () => {
      const forged = signToken({ secret: 'another-secret-0123456789', sub: 'alice@example.com', expiresIn: '1h' });
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'root', is_admin: true })}.`;
      const anonymous = signToken({ secret: TEST_SECRET, expiresIn: '1h' });
      for (const token of [forged, none, anonymous]) {
        const res = await http('GET', url('/sessions'), { token });
        expect([res.status, typeof res.body.message]).toEqual([401, 'string']);
      }
      expect((await http('GET', url('/sessions'), { token: anonymous })).body.message).toBe('Token has neither sub nor email');
    });

    test('a lowercase bearer scheme works', async () => {
      const res = await http('GET', url('/sessions'), { headers: { Authorization: `bearer ${alice}` } });
      expect(res.status).toBe(200);
    });

    test('?token= works on every route, POST included', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'query-token');
      tunnel.autoAnswer(() => ({ result: { ok: true } }));
      const q = `token=${encodeURIComponent(alice)}`;
      expect((await http('GET', url(`/sessions?${q}`))).status).toBe(200);
      expect((await http('GET', url(`/sessions/${sessionId}?${q}`))).status).toBe(200);
      const res = await http('POST', url(`/sessions/${sessionId}/request?${q}`), { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
      expect(res.body).toEqual({ jsonrpc: '2.0', id: 1, result: { ok: true } });
      expect(res.status).toBe(200);
      const withOptions = await http('POST', url(`/sessions/${sessionId}/request?timeout_ms=5000&${q}`), {
        body: { jsonrpc: '2.0', id: 2, method: 'ping' },
      });
      expect(withOptions.status).toBe(200);
    });
  });

  describe('delete', () => {
    test('closes the tunnel and answers {status:"disconnected", session_id}', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'to-delete');
      const res = await http('DELETE', url(`/sessions/${sessionId}`), { token: alice });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'disconnected', session_id: sessionId });
      expect(await tunnel.closed).toBe(1000);
      expect((await http('GET', url(`/sessions/${sessionId}`), { token: alice })).status).toBe(404);
      expect((await http('DELETE', url(`/sessions/${sessionId}`), { token: alice })).status).toBe(404);
    });

    test('another user cannot delete (403) and the tunnel stays; an admin can', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'not-yours');
      const refused = await http('DELETE', url(`/sessions/${sessionId}`), { token: bob });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toBe('Not authorized for this session');
      expect(tunnel.ws.readyState).toBe(WebSocket.OPEN);
      expect((await http('DELETE', url(`/sessions/${sessionId}`), { token: admin })).body).toEqual({
        status: 'disconnected',
        session_id: sessionId,
      });
      await tunnel.closed;
    });

    test('calls in flight fail with 502 when the session is deleted', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'delete-in-flight');
      const call = post(sessionId, { jsonrpc: '2.0', id: 1, method: 'slow' });
      await tunnel.next((f) => f.type === 'request');
      await http('DELETE', url(`/sessions/${sessionId}`), { token: alice });
      expect((await call).status).toBe(502);
    });
  });

  describe('POST request', () => {
    test('a request is forwarded in a request envelope with a rewritten id; the answer carries the caller id', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'forward');
      const call = post(sessionId, {
        jsonrpc: '2.0',
        id: 'my-id',
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'hi' } },
      });
      const frame = await tunnel.next((f) => f.type === 'request');
      expect(frame).toEqual({
        type: 'request',
        sessionId,
        payload: { jsonrpc: '2.0', id: expect.any(String), method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
      });
      expect(frame.payload.id).not.toBe('my-id');
      tunnel.send({
        type: 'response',
        payload: { jsonrpc: '2.0', id: frame.payload.id, result: { content: [{ type: 'text', text: 'hi' }] } },
      });
      const res = await call;
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ jsonrpc: '2.0', id: 'my-id', result: { content: [{ type: 'text', text: 'hi' }] } });
    });

    test('a JSON-RPC error answer is passed through with status 200', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'errs');
      tunnel.autoAnswer(() => ({ error: { code: -32601, message: 'Method not found' } }));
      const res = await post(sessionId, { jsonrpc: '2.0', id: 3, method: 'nope' });
      expect([res.status, res.body]).toEqual([200, { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'Method not found' } }]);
    });

    test('50 concurrent requests with the same id each get their own answer, answered in random order', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'concurrent');
      const calls = Array.from({ length: 50 }, (_, n) => post(sessionId, { jsonrpc: '2.0', id: 1, method: 'work', params: { n } }));
      const requests: Frame[] = [];
      while (requests.length < 50) requests.push(await tunnel.next((f) => f.type === 'request'));
      expect(new Set(requests.map((r) => r.payload.id)).size).toBe(50);
      const shuffled = requests
        .map((r) => ({ r, k: Math.random() }))
        .sort((a, b) => a.k - b.k)
        .map(({ r }) => r);
      for (const r of shuffled) {
        tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: r.payload.id, result: { n: r.payload.params.n } } });
      }
      const answers = await Promise.all(calls);
      answers.forEach((res, n) => {
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ jsonrpc: '2.0', id: 1, result: { n } });
      });
    });

    test('callers on different sessions with the same id are kept apart too', async () => {
      const a = await register(gw, alice, 'apart-a');
      const b = await register(gw, alice, 'apart-b');
      a.tunnel.autoAnswer(() => ({ result: 'from a' }));
      b.tunnel.autoAnswer(() => ({ result: 'from b' }));
      const [ra, rb] = await Promise.all([
        post(a.sessionId, { jsonrpc: '2.0', id: 9, method: 'x' }),
        post(b.sessionId, { jsonrpc: '2.0', id: 9, method: 'x' }),
      ]);
      expect([ra.body.result, rb.body.result]).toEqual(['from a', 'from b']);
    });

    test('timeout: 504, and the tunnel receives notifications/cancelled with the rewritten id', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'slowpoke');
      const call = post(sessionId, { jsonrpc: '2.0', id: 5, method: 'slow' }, alice, '?timeout_ms=100');
      const req = await tunnel.next((f) => f.type === 'request' && f.payload.method === 'slow');
      const res = await call;
      expect(res.status).toBe(504);
      expect(res.body.message).toMatch(/No answer from the tunnel within 100 ms/);
      const cancel = await tunnel.next((f) => f.payload?.method === 'notifications/cancelled');
      expect(cancel).toEqual({
        type: 'request',
        sessionId,
        payload: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: req.payload.id, reason: expect.any(String) } },
      });
      // A late answer is dropped; the session carries on.
      tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: req.payload.id, result: {} } });
      tunnel.autoAnswer(() => ({ result: 'still here' }));
      expect((await post(sessionId, { jsonrpc: '2.0', id: 6, method: 'fast' })).body.result).toBe('still here');
    });

    test('timeout_ms cannot lengthen the gateway default', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'long-wait');
      tunnel.autoAnswer(() => ({ result: 1 }));
      const res = await post(sessionId, { jsonrpc: '2.0', id: 1, method: 'x' }, alice, '?timeout_ms=3600000');
      expect(res.status).toBe(200);
    });

    test('the tunnel dies mid-request: 502 at once', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'doomed');
      // The default timeout is 60 s; the test's own 5 s limit shows the answer did not wait for it.
      const call = post(sessionId, { jsonrpc: '2.0', id: 1, method: 'slow' });
      await tunnel.next((f) => f.type === 'request');
      tunnel.ws.terminate();
      const res = await call;
      expect(res.status).toBe(502);
      expect(res.body.message).toMatch(/tunnel closed/i);
      expect(res.text).not.toMatch(/\n\s+at /);
    }, 5000);

    test('a notification: 202 {status:"sent", session_id}, forwarded unchanged', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'notify');
      const note = { jsonrpc: '2.0', method: 'notifications/roots/list_changed' };
      const res = await post(sessionId, note);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ status: 'sent', session_id: sessionId });
      expect(await tunnel.next((f) => f.type === 'request')).toEqual({ type: 'request', sessionId, payload: note });
    });

    test('an answer to a server-to-client request: 202, forwarded unchanged', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'answers');
      const answer = { jsonrpc: '2.0', id: 'srv-1', result: { roots: [] } };
      const res = await post(sessionId, answer);
      expect([res.status, res.body]).toEqual([202, { status: 'sent', session_id: sessionId }]);
      expect((await tunnel.next((f) => f.type === 'request')).payload).toEqual(answer);
    });

    test('?wait=false: 202 at once, and the answer arrives on SSE with the caller id', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'fire-and-forget');
      const sse = await SseStream.open(url(`/sse/${sessionId}`), { Authorization: `Bearer ${alice}` });
      streams.push(sse);
      await sse.next((e) => e.event === 'connected');
      const res = await post(sessionId, { jsonrpc: '2.0', id: 'caller-7', method: 'tools/list' }, alice, '?wait=false');
      expect([res.status, res.body]).toEqual([202, { status: 'sent', session_id: sessionId }]);
      const req = await tunnel.next((f) => f.type === 'request');
      expect(req.payload.id).not.toBe('caller-7');
      tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: req.payload.id, result: { tools: [] } } });
      const event = await sse.next((e) => e.event === 'response');
      expect(json(event)).toEqual({ jsonrpc: '2.0', id: 'caller-7', result: { tools: [] } });
    });

    test.each([
      ['an array', [{ jsonrpc: '2.0', id: 1, method: 'x' }]],
      ['an object that is no JSON-RPC message', { hello: 'world' }],
      ['a request with a bad id', { jsonrpc: '2.0', id: { a: 1 }, method: 'x' }],
      ['a method that is not a string', { jsonrpc: '2.0', id: 1, method: 42 }],
    ])('an invalid body (%s): 400 with a message a person can act on', async (_what, body) => {
      const { sessionId } = await register(gw, alice, 'strict');
      const res = await post(sessionId, body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^Body must be one JSON-RPC 2.0 message/);
    });

    test('invalid JSON: 400 with a fixed text, no parser internals or stack trace', async () => {
      const { sessionId } = await register(gw, alice, 'bad-json');
      const res = await http('POST', url(`/sessions/${sessionId}/request`), { token: alice, rawBody: '{"jsonrpc": "2.0", "id": 1,' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Request body is not valid JSON',
        detail: 'Request body is not valid JSON',
      });
      expect(res.text).not.toMatch(/SyntaxError|at JSON\.parse|node_modules/);
    });

    test('a body over MAX_BODY_BYTES: 413 with a fixed text', async () => {
      const { sessionId } = await register(gw, alice, 'big-body');
      const huge = { jsonrpc: '2.0', id: 1, method: 'x', params: { blob: 'x'.repeat(gw.config.requests.maxBodyBytes) } };
      const res = await post(sessionId, huge);
      expect(res.status).toBe(413);
      expect(res.body.message).toBe('Request body is too large');
    });

    test('no body: 400', async () => {
      const { sessionId } = await register(gw, alice, 'no-body');
      const res = await http('POST', url(`/sessions/${sessionId}/request`), { token: alice });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/JSON-RPC/);
    });

    test.each([
      ['timeout_ms=abc', 'timeout_ms must be a whole number of milliseconds'],
      ['timeout_ms=1.5', 'timeout_ms must be a whole number of milliseconds'],
      ['timeout_ms=0', 'timeout_ms must be at least 1'],
      ['timeout_ms=-5', 'timeout_ms must be at least 1'],
      ['timeout_ms=99999999', 'timeout_ms must be at most 3600000'],
      ['wait=maybe', 'wait must be true or false'],
      ['timeuot_ms=5', 'property timeuot_ms should not exist'],
    ])('a bad query (%s): 400 naming it', async (query, message) => {
      const { sessionId } = await register(gw, alice, 'bad-query');
      const res = await post(sessionId, { jsonrpc: '2.0', id: 1, method: 'x' }, alice, `?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(message);
    });

    test('unknown session: 404 Session <id> not found', async () => {
      const res = await post('ffffffffffffffffffffffffffffffff', { jsonrpc: '2.0', id: 1, method: 'x' });
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Session ffffffffffffffffffffffffffffffff not found');
    });

    test("another user's session: 403 Not authorized for this session, and nothing is sent", async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'private');
      const res = await post(sessionId, { jsonrpc: '2.0', id: 1, method: 'x' }, bob);
      expect(res.status).toBe(403);
      expect(res.body.message).toBe('Not authorized for this session');
      tunnel.send({ type: 'marker' });
      await tunnel.next((f) => f.type === 'error');
      expect(tunnel.frames.filter((f) => f.type === 'request')).toEqual([]);
    });

    test('an admin may call any session', async () => {
      const { tunnel, sessionId } = await register(gw, alice, 'admin-call');
      tunnel.autoAnswer(() => ({ result: 'ok' }));
      expect((await post(sessionId, { jsonrpc: '2.0', id: 1, method: 'x' }, admin)).body.result).toBe('ok');
    });

    test('an expired token: 401', async () => {
      const { sessionId } = await register(gw, alice, 'expired-call');
      const expired = signToken({ secret: TEST_SECRET, sub: 'alice@example.com', expiresIn: -10 });
      const res = await post(sessionId, { jsonrpc: '2.0', id: 1, method: 'x' }, expired);
      expect([res.status, res.body.message]).toEqual([401, 'Token expired']);
    });
  });
});

describe('MAX_PENDING_PER_SESSION', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MAX_PENDING_PER_SESSION: '1' });
  });
  afterAll(() => gw.close());

  test('past the limit a call gets 503, waiting or not, and nothing more is sent', async () => {
    const token = gw.mintToken('alice@example.com');
    const { tunnel, sessionId } = await register(gw, token);
    const url = `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`;
    const first = http('POST', url, { token, body: { jsonrpc: '2.0', id: 1, method: 'slow' } });
    const req = await tunnel.next((f) => f.type === 'request');
    const second = await http('POST', url, { token, body: { jsonrpc: '2.0', id: 2, method: 'slow' } });
    expect(second.status).toBe(503);
    expect(second.body.message).toBe('Too many requests in flight on this session (limit 1)');
    const noWait = await http('POST', `${url}?wait=false`, { token, body: { jsonrpc: '2.0', id: 3, method: 'slow' } });
    expect(noWait.status).toBe(503);
    tunnel.send({ type: 'response', payload: { jsonrpc: '2.0', id: req.payload.id, result: 'done' } });
    expect((await first).body).toEqual({ jsonrpc: '2.0', id: 1, result: 'done' });
    expect(tunnel.frames.filter((f) => f.type === 'request')).toEqual([]);
  });
});

describe('without auth (AUTH_REQUIRED=false)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ AUTH_REQUIRED: 'false' });
  });
  afterAll(() => gw.close());

  test('anonymous sessions are listed for everyone; owned ones only for their owner and admins', async () => {
    const alice = gw.mintToken('alice@example.com');
    const bob = gw.mintToken('bob@example.com');
    const anon = await register(gw, undefined, 'anon-tools');
    const owned = await register(gw, alice, 'alice-tools');
    const list = async (token?: string) => ids((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token })).body);
    expect(await list()).toEqual([anon.sessionId]);
    expect(await list(bob)).toEqual([anon.sessionId]);
    expect(await list(alice)).toEqual([anon.sessionId, owned.sessionId].sort());
    expect(await list(gw.mintToken('root@example.com', { admin: true }))).toEqual([anon.sessionId, owned.sessionId].sort());
  });

  test('an anonymous session can be used by anyone, an owned one only by its owner', async () => {
    const alice = gw.mintToken('alice@example.com');
    const anon = await register(gw, undefined, 'anon-open');
    anon.tunnel.autoAnswer(() => ({ result: 'anon' }));
    const owned = await register(gw, alice, 'alice-closed');
    const call = (id: string, token?: string) =>
      http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${id}/request`, { token, body: { jsonrpc: '2.0', id: 1, method: 'x' } });
    expect((await call(anon.sessionId)).body.result).toBe('anon');
    expect((await call(anon.sessionId, gw.mintToken('bob@example.com'))).body.result).toBe('anon');
    expect((await call(owned.sessionId)).status).toBe(403);
    expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${owned.sessionId}`)).status).toBe(403);
    const deleted = await http('DELETE', `${gw.httpUrl}/reverse-proxy/sessions/${anon.sessionId}`);
    expect(deleted.body).toEqual({ status: 'disconnected', session_id: anon.sessionId });
  });
});
