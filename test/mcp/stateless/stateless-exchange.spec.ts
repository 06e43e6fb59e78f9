import type { ServerResponse } from 'node:http';
import {
  CLIENT_CAPABILITIES_META_KEY,
  PerRequestHTTPServerTransport,
  PROTOCOL_VERSION_META_KEY,
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import { StatelessExchange, type KeepaliveClock, type StatelessExchangeLimits } from '../../../src/mcp/stateless/stateless-exchange.js';
import { FakeResponse } from '../../support/fake-response.js';

/** Keep-alive timers run by hand. */
class ManualClock implements KeepaliveClock {
  private next = 1;
  readonly intervals = new Map<number, { fn: () => void; ms: number }>();
  setInterval(fn: () => void, ms: number): unknown {
    this.intervals.set(this.next, { fn, ms });
    return this.next++;
  }
  clearInterval(handle: unknown): void {
    this.intervals.delete(handle as number);
  }
  tick(): void {
    for (const { fn } of [...this.intervals.values()]) fn();
  }
}

const LIMITS: StatelessExchangeLimits = { maxBufferedBytes: 1024 * 1024, maxBacklog: 100, keepaliveMs: 15_000 };
const answer = { jsonrpc: '2.0', id: 'client-7', result: { content: [{ type: 'text', text: 'done' }], resultType: 'complete' } };
const progress = (n: number) => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: n } });

function setup(limits: Partial<StatelessExchangeLimits> = {}) {
  const res = new FakeResponse();
  const clock = new ManualClock();
  const ends: boolean[] = [];
  const exchange = new StatelessExchange(res as unknown as ServerResponse, {
    requestId: 'client-7',
    limits: { ...LIMITS, ...limits },
    onEnd: (delivered) => ends.push(delivered),
    clock,
  });
  return { res, clock, ends, exchange };
}

test('an answer alone leaves as one JSON body with the status given', () => {
  const { res, ends, exchange, clock } = setup();
  exchange.answer(answer, 200);
  expect(res.status).toBe(200);
  expect(res.headers).toEqual({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(res.body) });
  expect(JSON.parse(res.body)).toEqual(answer);
  expect(res.ended).toBe(true);
  expect(ends).toEqual([true]);
  expect(exchange.isOpen).toBe(false);
  // No stream was started, so no keep-alive either.
  expect(clock.intervals.size).toBe(0);
  // A second answer is ignored (the fake would throw on a second writeHead or end).
  exchange.answer(answer, 400);
  expect(ends).toEqual([true]);
});

test('a refusal keeps the status it is given', () => {
  const { res, exchange } = setup();
  exchange.answer({ jsonrpc: '2.0', id: 'client-7', error: { code: -32601, message: 'Method not found' } }, 404);
  expect(res.status).toBe(404);
});

/** The headers of the SDK per-request transport's answer when its handler sends a related message first. */
async function sdkStreamHeaders(): Promise<Record<string, string>> {
  const revision = '2026-07-28';
  const server = new Server(
    { name: 't', version: '1' },
    { capabilities: { tools: {} }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, revision] },
  );
  server.fallbackRequestHandler = async (_request, ctx) => {
    await ctx.mcpReq.notify(progress(1));
    return { content: [] };
  };
  const transport = new PerRequestHTTPServerTransport({ classification: { era: 'modern', revision }, keepAliveMs: 0 });
  await server.connect(transport);
  const meta = { [PROTOCOL_VERSION_META_KEY]: revision, [CLIENT_CAPABILITIES_META_KEY]: {}, progressToken: 't' };
  const response = await transport.handleMessage({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: meta } });
  await response.text();
  await server.close();
  return Object.fromEntries(response.headers);
}

test('a related message first turns the answer into the SSE stream the SDK per-request transport writes', async () => {
  const { res, ends, exchange } = setup();
  exchange.related(progress(1));
  expect(res.status).toBe(200);
  const sdk = await sdkStreamHeaders();
  expect(sdk['content-type']).toBe('text/event-stream');
  expect(res.headers).toEqual(sdk);
  expect(res.ended).toBe(false);
  exchange.related(progress(2));
  exchange.answer(answer, 200);
  expect(res.body).toBe(
    [progress(1), progress(2), answer].map((message) => `event: message\ndata: ${JSON.stringify(message)}\n\n`).join(''),
  );
  expect(res.ended).toBe(true);
  expect(ends).toEqual([true]);
  // Nothing is written after the end (the fake would throw).
  exchange.related(progress(3));
});

test('a stream gets keep-alive comments at the configured interval until its answer', () => {
  const { res, exchange, clock } = setup({ keepaliveMs: 5_000 });
  exchange.related(progress(1));
  expect([...clock.intervals.values()].map((timer) => timer.ms)).toEqual([5_000]);
  clock.tick();
  clock.tick();
  expect(res.body.endsWith(': keepalive\n\n: keepalive\n\n')).toBe(true);
  exchange.answer(answer, 200);
  expect(clock.intervals.size).toBe(0);
});

test('no keep-alive when its interval is 0', () => {
  const { exchange, clock } = setup({ keepaliveMs: 0 });
  exchange.related(progress(1));
  expect(clock.intervals.size).toBe(0);
});

test('a client leaving before its answer is heard once by each onGone listener, at once by a late one', () => {
  const { res, ends, exchange } = setup();
  const gone: string[] = [];
  exchange.onGone(() => gone.push('first'));
  exchange.onGone(() => gone.push('second'));
  res.leave();
  expect(gone).toEqual(['first', 'second']);
  expect(ends).toEqual([false]);
  expect(exchange.isOpen).toBe(false);
  // The response closing again, or the answer coming after all, calls nobody twice.
  res.emit('close');
  exchange.answer(answer, 200);
  expect(gone).toEqual(['first', 'second']);
  expect(res.headersSent).toBe(false);
  exchange.onGone(() => gone.push('late'));
  expect(gone).toEqual(['first', 'second', 'late']);
});

test('a client leaving mid-stream is gone too, and its keep-alive stops', () => {
  const { res, ends, exchange, clock } = setup();
  let gone = 0;
  exchange.onGone(() => gone++);
  exchange.related(progress(1));
  res.leave();
  expect(gone).toBe(1);
  expect(ends).toEqual([false]);
  expect(clock.intervals.size).toBe(0);
});

test('the response closing after a delivered answer is not a client leaving', () => {
  const { res, exchange } = setup();
  let gone = 0;
  exchange.onGone(() => gone++);
  exchange.answer(answer, 200);
  res.emit('close');
  exchange.onGone(() => gone++);
  expect(gone).toBe(0);
});

test('a response already destroyed when the exchange starts counts as the client gone', async () => {
  const res = new FakeResponse();
  res.destroyed = true;
  const ends: boolean[] = [];
  const exchange = new StatelessExchange(res as unknown as ServerResponse, { requestId: 1, limits: LIMITS, onEnd: (d) => ends.push(d) });
  let gone = 0;
  exchange.onGone(() => gone++);
  await Promise.resolve();
  expect(gone).toBe(1);
  expect(ends).toEqual([false]);
});

test('a client that stopped reading is cut off rather than have its backlog grow', () => {
  const { res, ends, exchange, clock } = setup({ maxBufferedBytes: 100 });
  let gone = 0;
  exchange.onGone(() => gone++);
  exchange.related(progress(1));
  res.writableLength = 101;
  exchange.related(progress(2));
  expect(res.destroyed).toBe(true);
  expect(res.body).not.toContain('"progress":2');
  expect(gone).toBe(1);
  expect(ends).toEqual([false]);
  expect(clock.intervals.size).toBe(0);
});

test('a client too far behind when the answer comes is cut off too, the answer not written', () => {
  const { res, ends, exchange } = setup({ maxBufferedBytes: 100 });
  exchange.related(progress(1));
  res.writableLength = 101;
  exchange.answer(answer, 200);
  expect(res.destroyed).toBe(true);
  expect(res.body).not.toContain('done');
  expect(ends).toEqual([false]);
});

test('abandoned while waiting: the 500 internal error the SDK handler gives, with the request id', () => {
  const { res, ends, exchange } = setup();
  exchange.abandon();
  expect(res.status).toBe(500);
  expect(res.headers['content-type']).toBe('application/json');
  expect(JSON.parse(res.body)).toEqual({ jsonrpc: '2.0', error: { code: -32603, message: expect.any(String) }, id: 'client-7' });
  expect(res.ended).toBe(true);
  // The client did get an answer, the error.
  expect(ends).toEqual([true]);
});

test('abandoned mid-stream: the stream ends without an answer', () => {
  const { res, ends, exchange, clock } = setup();
  exchange.related(progress(1));
  exchange.abandon();
  expect(res.ended).toBe(true);
  expect(res.body).not.toContain('-32603');
  expect(ends).toEqual([false]);
  expect(clock.intervals.size).toBe(0);
});
