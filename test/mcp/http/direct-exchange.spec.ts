import type { ServerResponse } from 'node:http';
import { DirectExchange, type DirectExchangeLimits, type ExchangeClock } from '../../../src/mcp/http/direct-exchange.js';
import { BoundedEventStore } from '../../../src/mcp/sessions/bounded-event-store.js';
import { EventStoreBudget } from '../../../src/mcp/sessions/event-store-budget.js';
import type { JsonRpcMessage } from '../../../src/protocol/json-rpc.js';
import { FakeResponse } from '../../support/fake-response.js';

/** Timers run by hand. */
class ManualClock implements ExchangeClock {
  private next = 1;
  readonly timeouts = new Map<number, () => void>();
  readonly intervals = new Map<number, () => void>();
  setTimeout(fn: () => void): unknown {
    this.timeouts.set(this.next, fn);
    return this.next++;
  }
  clearTimeout(handle: unknown): void {
    this.timeouts.delete(handle as number);
  }
  setInterval(fn: () => void): unknown {
    this.intervals.set(this.next, fn);
    return this.next++;
  }
  clearInterval(handle: unknown): void {
    this.intervals.delete(handle as number);
  }
  /** The answer wait runs out. */
  expireWait(): void {
    const pending = [...this.timeouts.values()];
    this.timeouts.clear();
    for (const fn of pending) fn();
  }
  tickIntervals(): void {
    for (const fn of [...this.intervals.values()]) fn();
  }
}

const LIMITS: DirectExchangeLimits = { maxBufferedBytes: 1024 * 1024, maxBacklog: 100, answerWaitMs: 20, keepaliveMs: 15_000 };
const answer = (id: string | number, text = 'done'): JsonRpcMessage => ({
  jsonrpc: '2.0',
  id,
  result: { content: [{ type: 'text', text }] },
});
const progress = (n: number): JsonRpcMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 't', progress: n },
});

function setup(options: { priming?: boolean; limits?: Partial<DirectExchangeLimits> } = {}) {
  const res = new FakeResponse();
  const clock = new ManualClock();
  const log = new BoundedEventStore({ maxEvents: 100, maxBytes: 1024 * 1024 }, new EventStoreBudget(1024 * 1024 * 16));
  const ends: boolean[] = [];
  const exchange = new DirectExchange(res as unknown as ServerResponse, {
    sessionId: 'session-1',
    requestId: 7,
    streamId: 'direct-1',
    priming: options.priming ?? true,
    log,
    limits: { ...LIMITS, ...options.limits },
    onEnd: (delivered) => ends.push(delivered),
    clock,
  });
  return { res, clock, log, ends, exchange };
}

test('an answer that comes first and in time leaves as one JSON body, keeping nothing', () => {
  const { res, log, ends, exchange, clock } = setup();
  expect(exchange.deliver(answer(7))).toBe(true);
  expect(res.status).toBe(200);
  expect(res.headers).toMatchObject({ 'content-type': 'application/json', 'mcp-session-id': 'session-1' });
  expect(res.headers['content-length']).toBe(Buffer.byteLength(res.body));
  expect(JSON.parse(res.body)).toEqual(answer(7));
  expect(res.ended).toBe(true);
  expect(log.size).toBe(0);
  expect(ends).toEqual([true]);
  expect(clock.timeouts.size).toBe(0);
  expect(exchange.isOpen).toBe(false);
  expect(exchange.deliver(answer(7))).toBe(false);
});

test('progress before the answer turns the response into the SSE stream the SDK writes: priming event, events with ids, end', () => {
  const { res, log, ends, exchange } = setup();
  exchange.deliver(progress(1));
  expect(res.headers).toMatchObject({
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    'mcp-session-id': 'session-1',
  });
  exchange.deliver(answer(7));
  const [priming, first, last] = res.events;
  expect(priming).toEqual({ id: expect.any(String), data: '' });
  expect(JSON.parse(first.data)).toEqual(progress(1));
  expect(JSON.parse(last.data)).toEqual(answer(7));
  expect(res.body).toContain(`event: message\nid: ${last.id}\ndata: `);
  expect(new Set([priming.id, first.id, last.id]).size).toBe(3);
  expect(res.ended).toBe(true);
  // Delivered whole: nothing is kept for a resumption that will not come.
  expect(log.size).toBe(0);
  expect(ends).toEqual([true]);
});

test('a call still running when the wait is over gets its headers and priming event at once, then keep-alives', () => {
  const { res, clock, exchange, ends } = setup();
  clock.expireWait();
  expect(res.headers['content-type']).toBe('text/event-stream');
  expect(res.events).toEqual([{ id: expect.any(String), data: '' }]);
  clock.tickIntervals();
  expect(res.body).toContain(': keepalive\n\n');
  exchange.deliver(answer(7, 'slow'));
  expect(JSON.parse(res.events[1].data)).toEqual(answer(7, 'slow'));
  expect(res.ended).toBe(true);
  expect(clock.intervals.size).toBe(0);
  expect(ends).toEqual([true]);
});

test('clients before 2025-11-25 get no priming event: the headers are flushed instead', () => {
  const { res, clock, exchange } = setup({ priming: false });
  clock.expireWait();
  expect(res.flushed).toBe(true);
  expect(res.body).toBe('');
  exchange.deliver(answer(7));
  expect(res.events).toHaveLength(1);
  expect(res.events[0].id).toEqual(expect.any(String));
});

test('a client that leaves before it got an event id cannot resume: the exchange is over at once, nothing is kept', () => {
  const { res, log, ends, exchange, clock } = setup();
  res.leave();
  expect(ends).toEqual([false]);
  expect(exchange.isOpen).toBe(false);
  expect(clock.timeouts.size).toBe(0);
  // A server request for it then takes the session's own stream (false), and the answer goes nowhere.
  expect(exchange.deliver(progress(1))).toBe(false);
  expect(exchange.deliver(answer(7))).toBe(false);
  expect(log.size).toBe(0);
  expect(res.chunks).toEqual([]);
});

test('a client that leaves mid-stream, after its event ids, leaves the exchange open for its resumption', () => {
  const { res, ends, exchange, clock } = setup();
  clock.expireWait();
  res.leave();
  expect(ends).toEqual([]);
  expect(exchange.isOpen).toBe(true);
  expect(exchange.isAttached).toBe(false);
});

test('a call given up without an answer (the client cancelled it) ends the stream', () => {
  const { res, ends, exchange, clock } = setup();
  clock.expireWait();
  exchange.close();
  expect(res.ended).toBe(true);
  expect(ends).toEqual([false]);
  expect(clock.intervals.size).toBe(0);
});

test('a client cut off mid-stream resumes after its last event id: the events it missed, then the answer', () => {
  const { res, log, ends, exchange, clock } = setup();
  clock.expireWait();
  exchange.deliver(progress(1));
  const seen = res.events.at(-1)!.id!;
  res.leave();
  exchange.deliver(progress(2));
  expect(ends).toEqual([]);

  const resumed = new FakeResponse();
  exchange.resume(resumed as unknown as ServerResponse, seen);
  expect(resumed.headers['content-type']).toBe('text/event-stream');
  expect(resumed.events.map((e) => JSON.parse(e.data))).toEqual([progress(2)]);
  expect(() => exchange.resume(new FakeResponse() as unknown as ServerResponse, seen)).toThrow();
  exchange.deliver(answer(7));
  expect(JSON.parse(resumed.events.at(-1)!.data)).toEqual(answer(7));
  expect(resumed.ended).toBe(true);
  expect(ends).toEqual([true]);
  expect(log.size).toBe(0);
});

test('an answer that arrives while the client is away is kept for the replay, and the exchange is over', () => {
  const { res, log, ends, exchange, clock } = setup();
  clock.expireWait();
  const priming = res.events[0].id!;
  res.leave();
  exchange.deliver(answer(7));
  expect(ends).toEqual([false]);
  expect([...log.eventsAfter(priming)].map(([, json]) => JSON.parse(json))).toEqual([answer(7)]);
});

test('the session ending ends the response, empty, whatever its state', () => {
  const waiting = setup();
  waiting.exchange.close();
  expect(waiting.res.headers['content-type']).toBe('text/event-stream');
  expect(waiting.res.ended).toBe(true);
  expect(waiting.ends).toEqual([false]);
  expect(waiting.exchange.deliver(answer(7))).toBe(false);

  const streaming = setup();
  streaming.clock.expireWait();
  streaming.exchange.close();
  expect(streaming.res.ended).toBe(true);
  expect(streaming.clock.intervals.size).toBe(0);
  expect(streaming.ends).toEqual([false]);
});

test('a client too far behind is cut off (and may resume) rather than have its backlog grow', () => {
  const { res, exchange, clock } = setup({ limits: { maxBufferedBytes: 100 } });
  clock.expireWait();
  res.writableLength = 101;
  exchange.deliver(progress(1));
  expect(res.destroyed).toBe(true);
  expect(exchange.isAttached).toBe(false);
  expect(exchange.isOpen).toBe(true);
});

test('with no answer wait, the response is an SSE stream from the start, as the SDK transport writes it', () => {
  const { res, exchange, clock } = setup({ limits: { answerWaitMs: 0 } });
  expect(clock.timeouts.size).toBe(0);
  expect(res.headers['content-type']).toBe('text/event-stream');
  exchange.deliver(answer(7));
  expect(res.events.map((e) => e.data)).toEqual(['', JSON.stringify(answer(7))]);
  expect(res.ended).toBe(true);
});

test('an answer for a client that already left is not written, and the exchange ends undelivered', () => {
  const { res, ends, exchange } = setup();
  res.leave();
  expect(exchange.deliver(answer(7))).toBe(false);
  expect(res.chunks).toEqual([]);
  expect(res.headersSent).toBe(false);
  expect(ends).toEqual([false]);
});
