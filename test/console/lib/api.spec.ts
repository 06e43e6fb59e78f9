import { ApiError, errorOf, GatewayApi, type Fetch } from '../../../console/src/lib/api.js';

function recorder(answer: () => Response): { fetch: Fetch; calls: { url: string; init?: RequestInit }[] } {
  const calls: { url: string; init?: RequestInit }[] = [];
  return { calls, fetch: async (url, init) => (calls.push({ url, init }), answer()) };
}
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

test('every call carries the token in the Authorization header, never in the URL', async () => {
  const { fetch, calls } = recorder(() => json({ sessions: [], total: 0 }));
  const api = new GatewayApi('tok.en', fetch);
  await api.listSessions();
  await api.getSession('a/b');
  await api.stats('s1');
  await api.disconnect('s1');
  expect(calls.map((c) => [c.init?.method, c.url])).toEqual([
    ['GET', '/reverse-proxy/sessions'],
    ['GET', '/reverse-proxy/sessions/a%2Fb'],
    ['GET', '/reverse-proxy/sessions/s1/stats'],
    ['DELETE', '/reverse-proxy/sessions/s1'],
  ]);
  for (const c of calls) {
    expect((c.init?.headers as Record<string, string>).Authorization).toBe('Bearer tok.en');
    expect(c.url).not.toContain('tok.en');
  }
});

test('a call is one JSON-RPC request with an id of its own, and the answer (an error included) comes back as it is', async () => {
  const { fetch, calls } = recorder(() => json({ jsonrpc: '2.0', id: 'console-1', error: { code: -32601, message: 'nope' } }));
  const api = new GatewayApi('t', fetch);
  const answer = await api.call('s1', 'tools/call', { name: 'echo', arguments: { text: 'x' } }, 5000);
  expect(answer.error?.message).toBe('nope');
  await api.call('s1', 'tools/list');
  expect(calls[0].url).toBe('/reverse-proxy/sessions/s1/request?timeout_ms=5000');
  expect(JSON.parse(calls[0].init?.body as string)).toEqual({
    jsonrpc: '2.0',
    id: 'console-1',
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'x' } },
  });
  expect(JSON.parse(calls[1].init?.body as string)).toEqual({ jsonrpc: '2.0', id: 'console-2', method: 'tools/list' });
});

test("a refusal is an ApiError with the gateway's message, bounded, or a fixed sentence", async () => {
  await expect(new GatewayApi('t', async () => json({ message: 'Session x not found' }, 404)).getSession('x')).rejects.toEqual(
    new ApiError(404, 'Session x not found'),
  );
  expect((await errorOf(new Response('<html>', { status: 401 }))).message).toBe('The token was refused (missing, invalid or expired).');
  expect((await errorOf(json({ message: 'm'.repeat(1000) }, 400))).message).toHaveLength(300);
  expect((await errorOf(json({ error: { message: 'rpc' } }, 403))).message).toBe('rpc');
  expect((await errorOf(new Response('', { status: 418 }))).message).toBe('The gateway answered 418.');
});

test('a stream opens with the token in the header, or rejects with the refusal', async () => {
  const { fetch, calls } = recorder(() => new Response('data: x\n\n', { status: 200 }));
  const body = await new GatewayApi('t', fetch).openStream('/reverse-proxy/sse', new AbortController().signal);
  expect(body).toBeDefined();
  expect((calls[0].init?.headers as Record<string, string>).Authorization).toBe('Bearer t');
  await expect(
    new GatewayApi('t', async () => json({ message: 'Not authorized for this session' }, 403)).openStream(
      '/x',
      new AbortController().signal,
    ),
  ).rejects.toMatchObject({
    status: 403,
  });
});
