import { jest } from '@jest/globals';
import { ForbiddenException, HttpException, NotFoundException } from '@nestjs/common';
import { ExchangeRelay, type ExchangeDoor } from '../../../src/reverse-proxy/cluster/exchange-relay.js';
import type { RelayedExchangeRequest } from '../../../src/reverse-proxy/cluster/relay-envelope.js';
import { CallError, CLUSTER_UNREACHABLE } from '../../../src/reverse-proxy/tunnel/call-error.js';
import { FakeClusterNetwork, type FakeClusterBus } from '../../support/fake-cluster-bus.js';

/** HTTP exchanges entering replica B, served by a door on replica A. */

const HEAD_TIMEOUT_MS = 1000;

let network: FakeClusterNetwork;
let busA: FakeClusterBus;
let busB: FakeClusterBus;
let serving: ExchangeRelay;
let entry: ExchangeRelay;

const exchange = (overrides: Partial<RelayedExchangeRequest> = {}): RelayedExchangeRequest => ({
  door: 'mcp',
  name: 'files',
  principal: { user: 'alice', isAdmin: false, via: 'jwt' },
  method: 'POST',
  url: '/servers/files/mcp?x=1',
  headers: [
    ['content-type', 'application/json'],
    ['accept', 'application/json, text/event-stream'],
  ],
  body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
  ...overrides,
});

/** A response body the test produces by hand, and what became of it. */
function handMadeBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => void (state.cancelled = true),
  });
  return { body, controller, state };
}

/** A door whose responses the test decides: each call waits for `respond`. */
function manualDoor() {
  const calls: { request: RelayedExchangeRequest; signal: AbortSignal; respond: (r: Response) => void; fail: (e: unknown) => void }[] = [];
  const door: ExchangeDoor = (request, signal) =>
    new Promise<Response>((respond, fail) => {
      calls.push({ request, signal, respond, fail });
    });
  return { door, calls };
}

/** Lets deliveries, stream reads and the door's promises run (real timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await network.flush();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

/** `promise`, marked as handled: a test that fails early leaves no unhandled rejection behind when afterEach ends the exchanges. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

beforeEach(() => {
  network = new FakeClusterNetwork();
  busA = network.bus('A');
  busB = network.bus('B');
  serving = new ExchangeRelay(busA.asBus(), { headTimeoutMs: HEAD_TIMEOUT_MS, maxServed: 3 });
  entry = new ExchangeRelay(busB.asBus(), { headTimeoutMs: HEAD_TIMEOUT_MS, maxServed: 3 });
});

afterEach(() => {
  entry.failAll();
  serving.failAll();
  jest.useRealTimers();
});

describe('responses', () => {
  test('a streamed response arrives chunk by chunk, as it is produced', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0].request).toEqual(exchange());
    expect(calls[0].signal.aborted).toBe(false);
    expect(entry.size).toEqual({ forwarded: 1, served: 0 });
    expect(serving.size).toEqual({ forwarded: 0, served: 1 });

    const { body, controller } = handMadeBody();
    calls[0].respond(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 'm-1' } }));
    const response = await forwarded;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('mcp-session-id')).toBe('m-1');

    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    controller.enqueue(bytes('event: message\n'));
    expect(decoder.decode((await reader.read()).value)).toBe('event: message\n');
    controller.enqueue(bytes('data: {"a":1}\n\n'));
    expect(decoder.decode((await reader.read()).value)).toBe('data: {"a":1}\n\n');
    controller.close();
    expect((await reader.read()).done).toBe(true);
    await settle();
    expect(entry.size).toEqual({ forwarded: 0, served: 0 });
    expect(serving.size).toEqual({ forwarded: 0, served: 0 });
    expect(network.sent('x-end', 'A', 'B')).toHaveLength(1);
  });

  test('a multi-byte character split across chunks arrives whole', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    const { body, controller } = handMadeBody();
    calls[0].respond(new Response(body, { status: 200 }));
    const response = await forwarded;
    const text = response.text();
    const euro = bytes('€'); // e2 82 ac
    const smile = bytes('😀'); // four bytes
    controller.enqueue(Uint8Array.of(...bytes('price: '), euro[0]));
    await settle();
    controller.enqueue(Uint8Array.of(euro[1]));
    await settle();
    controller.enqueue(Uint8Array.of(euro[2], ...bytes('5 '), smile[0], smile[1]));
    await settle();
    controller.enqueue(smile.slice(2));
    controller.close();
    expect(await text).toBe('price: €5 😀');
    // Every chunk on the wire is whole characters.
    const chunks = network.sent('x-chunk', 'A', 'B').map((m) => m.data);
    expect(chunks.join('')).toBe('price: €5 😀');
    for (const chunk of chunks) expect(chunk).not.toContain('\ufffd');
  });

  test('a multi-byte character cut at the very end of the body is decoded at the end', async () => {
    serving.serveWith('mcp', async () => {
      const { body, controller } = handMadeBody();
      controller.enqueue(Uint8Array.of(0x61, 0xe2, 0x82));
      controller.close();
      return new Response(body);
    });
    const response = await entry.forward('A', exchange());
    // An incomplete sequence at the end becomes one replacement character, as any decoder would.
    expect(await response.text()).toBe('a\ufffd');
  });

  test('a response without a body (202) ends at once', async () => {
    serving.serveWith('mcp', async () => new Response(null, { status: 202, headers: { 'mcp-session-id': 'm-2' } }));
    const response = await entry.forward('A', exchange());
    expect(response.status).toBe(202);
    expect(response.headers.get('mcp-session-id')).toBe('m-2');
    expect(await response.text()).toBe('');
    await settle();
    expect(entry.size).toEqual({ forwarded: 0, served: 0 });
    expect(serving.size).toEqual({ forwarded: 0, served: 0 });
    expect(network.sent('x-chunk')).toEqual([]);
  });

  test('a 204 answer has no body stream at all', async () => {
    serving.serveWith('mcp', async () => new Response(null, { status: 204 }));
    const response = await entry.forward('A', exchange());
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    await settle();
    expect(entry.size).toEqual({ forwarded: 0, served: 0 });
    expect(serving.size.served).toBe(0);
  });

  test('an error status the door responds with is a response, not a refusal', async () => {
    serving.serveWith('mcp', async () => Response.json({ error: 'bad' }, { status: 400 }));
    const response = await entry.forward('A', exchange());
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'bad' });
  });
});

describe('refusals', () => {
  async function refusalFor(thrown: unknown): Promise<unknown> {
    serving.serveWith('mcp', () => Promise.reject(thrown));
    const outcome = await entry.forward('A', exchange()).catch((err: unknown) => err);
    await settle();
    expect(serving.size.served).toBe(0);
    expect(entry.size.forwarded).toBe(0);
    return outcome;
  }

  test('an HttpException (404) is re-thrown on the entry side with its status and message', async () => {
    const err = await refusalFor(new NotFoundException('No server named files'));
    expect(err).toBeInstanceOf(HttpException);
    expect([(err as HttpException).getStatus(), (err as HttpException).message]).toEqual([404, 'No server named files']);
  });

  test('an HttpException (403) keeps its status and message', async () => {
    const err = (await refusalFor(new ForbiddenException('Not your server'))) as HttpException;
    expect([err.getStatus(), err.message]).toEqual([403, 'Not your server']);
  });

  test('an HttpException with an object body sends its message', async () => {
    const err = (await refusalFor(new HttpException({ message: 'Too many sessions', extra: 'not sent' }, 429))) as HttpException;
    expect([err.getStatus(), err.message]).toEqual([429, 'Too many sessions']);
    expect(network.sent('x-refused', 'A', 'B')).toEqual([{ t: 'x-refused', x: 1, refusal: { status: 429, message: 'Too many sessions' } }]);
  });

  test('a CallError is re-thrown as a CallError with its reason', async () => {
    const err = await refusalFor(new CallError('timeout', 'No answer from the tunnel within 10 ms'));
    expect(err).toEqual(new CallError('timeout', 'No answer from the tunnel within 10 ms'));
    expect(err).toBeInstanceOf(CallError);
  });

  test('anything else is a 500 whose message says nothing', async () => {
    const err = (await refusalFor(new Error('secret internal detail'))) as HttpException;
    expect([err.getStatus(), err.message]).toEqual([500, 'Internal server error']);
    expect(JSON.stringify(network.log)).not.toContain('secret');
  });

  test('past maxServed the exchange is refused as busy; for a door not served here, with 503', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const held = [
      handled(entry.forward('A', exchange())),
      handled(entry.forward('A', exchange())),
      handled(entry.forward('A', exchange())),
    ];
    const over = entry.forward('A', exchange()).catch((err: unknown) => err);
    const unknown = entry.forward('A', exchange({ door: 'nope' })).catch((err: unknown) => err);
    await settle();
    expect(calls).toHaveLength(3);
    expect(await over).toEqual(new CallError('busy', 'This gateway replica is serving too many relayed requests; try again later'));
    expect(await unknown).toEqual(new HttpException('The gateway replica holding this server cannot serve this request', 503));
    for (const call of calls) call.respond(new Response(null, { status: 202 }));
    await Promise.all(held);
    await settle();
    // Room again.
    const again = handled(entry.forward('A', exchange()));
    await settle();
    calls[3].respond(new Response(null, { status: 202 }));
    expect((await again).status).toBe(202);
  });

  test('chunks, ends and aborts from a replica other than the one serving are ignored', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    const { body, controller } = handMadeBody();
    calls[0].respond(new Response(body));
    const text = (await forwarded).text();
    const c = network.bus('C');
    c.send('B', { t: 'x-chunk', x: 1, data: 'forged' });
    c.send('B', { t: 'x-abort', x: 1, served: true });
    c.send('B', { t: 'x-end', x: 1 });
    await settle();
    expect(entry.size.forwarded).toBe(1);
    controller.enqueue(bytes('real'));
    controller.close();
    expect(await text).toBe('real');
  });

  test('refusals from a replica other than the one asked are ignored', async () => {
    const { door } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    let settled = false;
    void forwarded.then(
      () => (settled = true),
      () => (settled = true),
    );
    network.bus('C').send('B', { t: 'x-refused', x: 1, refusal: { status: 404, message: 'forged' } });
    network.bus('C').send('B', { t: 'x-head', x: 1, status: 200, headers: [] });
    network.bus('C').send('B', { t: 'x-abort', x: 1 });
    await settle();
    expect(settled).toBe(false);
    expect(entry.size.forwarded).toBe(1);
  });
});

describe('giving up', () => {
  test('without a head in time the entry side fails with timeout and tells the serving side, which stops', async () => {
    jest.useFakeTimers();
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const outcome = entry.forward('A', exchange()).catch((err: unknown) => err);
    await network.flush();
    expect(calls).toHaveLength(1);
    jest.advanceTimersByTime(HEAD_TIMEOUT_MS - 1);
    await network.flush();
    expect(entry.size.forwarded).toBe(1);
    jest.advanceTimersByTime(1);
    expect(await outcome).toEqual(
      new CallError('timeout', `The gateway replica holding this server did not answer within ${HEAD_TIMEOUT_MS} ms`),
    );
    await network.flush();
    expect(network.sent('x-abort', 'B', 'A')).toEqual([{ t: 'x-abort', x: 1 }]);
    expect(calls[0].signal.aborted).toBe(true);
    expect(serving.size.served).toBe(0);
    // The door answers late: its body is cancelled, nothing is sent.
    const { body, state } = handMadeBody();
    calls[0].respond(new Response(body));
    await network.flush();
    expect(state.cancelled).toBe(true);
    expect(network.sent('x-head')).toEqual([]);
  });

  test('once the head or a refusal arrived, the head timeout no longer applies', async () => {
    jest.useFakeTimers();
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const streaming = handled(entry.forward('A', exchange()));
    const refused = entry.forward('A', exchange()).catch((err: unknown) => err);
    await network.flush();
    const { body, controller, state } = handMadeBody();
    calls[0].respond(new Response(body));
    calls[1].fail(new NotFoundException('gone'));
    const reader = (await streaming).body!.getReader();
    expect(await refused).toBeInstanceOf(HttpException);
    jest.advanceTimersByTime(HEAD_TIMEOUT_MS * 3);
    await network.flush();
    expect(network.sent('x-abort')).toEqual([]);
    expect(state.cancelled).toBe(false);
    controller.enqueue(bytes('late but fine'));
    await network.flush();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('late but fine');
  });

  test("the entry side's client going away sends x-abort and stops the serving side's reader", async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    const { body, controller, state } = handMadeBody();
    calls[0].respond(new Response(body));
    const response = await forwarded;
    controller.enqueue(bytes('first'));
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    await reader.cancel();
    await settle();
    expect(network.sent('x-abort', 'B', 'A')).toEqual([{ t: 'x-abort', x: 1 }]);
    expect(calls[0].signal.aborted).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(entry.size).toEqual({ forwarded: 0, served: 0 });
    expect(serving.size).toEqual({ forwarded: 0, served: 0 });
    expect(network.sent('x-end')).toEqual([]);
  });

  test("the door's stream failing aborts the entry side's response", async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    const { body, controller } = handMadeBody();
    calls[0].respond(new Response(body));
    const response = await forwarded;
    const reader = response.body!.getReader();
    controller.enqueue(bytes('partial'));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('partial');
    controller.error(new Error('door broke'));
    await expect(reader.read()).rejects.toThrow('exchange aborted');
    await settle();
    // Marked as the serving side's: exchange numbers are per entry replica (see 'both ways at once').
    expect(network.sent('x-abort', 'A', 'B')).toEqual([{ t: 'x-abort', x: 1, served: true }]);
    expect(entry.size).toEqual({ forwarded: 0, served: 0 });
    expect(serving.size).toEqual({ forwarded: 0, served: 0 });
  });

  test('an exchange cannot be opened while the bus is down', async () => {
    busB.up = false;
    await expect(entry.forward('A', exchange())).rejects.toEqual(new CallError('unreachable', CLUSTER_UNREACHABLE));
    expect(entry.size.forwarded).toBe(0);
    expect(network.log).toEqual([]);
  });

  test('the serving side stops reading when it can no longer send', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const forwarded = handled(entry.forward('A', exchange()));
    await settle();
    const { body, controller, state } = handMadeBody();
    calls[0].respond(new Response(body));
    await forwarded;
    busA.up = false;
    controller.enqueue(bytes('lost'));
    await settle();
    expect(calls[0].signal.aborted).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(serving.size.served).toBe(0);
  });
});

describe('a replica gone, Redis gone', () => {
  /** Two exchanges from B to A: the first streaming its response (`reader`), the second still waiting for its head. */
  async function streamingAndWaiting() {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const streaming = handled(entry.forward('A', exchange()));
    const waiting = entry.forward('A', exchange()).catch((err: unknown) => err);
    await settle();
    const { body, state } = handMadeBody();
    calls[0].respond(new Response(body));
    return { calls, waiting, state, reader: (await streaming).body!.getReader() };
  }

  test('replicaGone on the entry side fails exchanges waiting for a head and ends streaming ones', async () => {
    const { waiting, reader } = await streamingAndWaiting();
    entry.replicaGone('A');
    expect(await waiting).toEqual(new CallError('closed', 'The tunnel closed (its gateway replica stopped)'));
    await expect(reader.read()).rejects.toEqual(new CallError('closed', 'The tunnel closed (its gateway replica stopped)'));
    expect(entry.size.forwarded).toBe(0);
  });

  test('replicaGone on the entry side leaves exchanges with other replicas alone', async () => {
    const servingC = new ExchangeRelay(network.bus('C').asBus(), { headTimeoutMs: HEAD_TIMEOUT_MS, maxServed: 3 });
    servingC.serveWith('mcp', async () => new Response('from C'));
    const { door } = manualDoor();
    serving.serveWith('mcp', door);
    const toA = entry.forward('A', exchange()).catch((err: unknown) => err);
    const toC = handled(entry.forward('C', exchange()));
    entry.replicaGone('A');
    expect(await toA).toBeInstanceOf(CallError);
    expect(await (await toC).text()).toBe('from C');
  });

  test('replicaGone on the serving side stops what it served for that replica only', async () => {
    const { door, calls } = manualDoor();
    serving.serveWith('mcp', door);
    const entryC = new ExchangeRelay(network.bus('C').asBus(), { headTimeoutMs: HEAD_TIMEOUT_MS, maxServed: 3 });
    void entry.forward('A', exchange()).catch(() => undefined);
    void entryC.forward('A', exchange()).catch(() => undefined);
    await settle();
    expect(serving.size.served).toBe(2);
    const [fromB, fromC] = calls; // in the order they were opened
    expect(fromB.request).toEqual(exchange());
    serving.replicaGone('B');
    expect(fromB.signal.aborted).toBe(true);
    expect(fromC.signal.aborted).toBe(false);
    expect(serving.size.served).toBe(1);
    entryC.failAll();
  });

  test('failAll ends every exchange as unreachable, on both sides', async () => {
    const { calls, waiting, reader, state } = await streamingAndWaiting();
    entry.failAll();
    expect(await waiting).toEqual(new CallError('unreachable', CLUSTER_UNREACHABLE));
    await expect(reader.read()).rejects.toEqual(new CallError('unreachable', CLUSTER_UNREACHABLE));
    serving.failAll();
    await settle();
    expect(calls.every((c) => c.signal.aborted)).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(serving.size.served).toBe(0);
  });
});

describe('both ways at once', () => {
  /** B's exchange served by A and A's exchange served by B, both with number 1, both streaming. */
  async function exchangesBothWays() {
    const atA = manualDoor();
    const atB = manualDoor();
    serving.serveWith('mcp', atA.door);
    entry.serveWith('mcp', atB.door);
    const bToA = handled(entry.forward('A', exchange()));
    const aToB = handled(serving.forward('B', exchange()));
    await settle();
    const fromA = handMadeBody();
    const fromB = handMadeBody();
    atA.calls[0].respond(new Response(fromA.body));
    atB.calls[0].respond(new Response(fromB.body));
    return { atA, fromA, fromB, readerAtB: (await bToA).body!.getReader(), readerAtA: (await aToB).body!.getReader() };
  }

  test('exchanges with the same number in both directions do not disturb each other', async () => {
    // A serves B's exchange 1 while B serves A's exchange 1.
    const { atA, fromA, fromB, readerAtA, readerAtB } = await exchangesBothWays();

    // B's door fails its stream for A's exchange: A's response ends with an error...
    fromB.controller.error(new Error('broke'));
    await expect(readerAtA.read()).rejects.toThrow('exchange aborted');
    await settle();
    // ...and B's exchange, served by A, goes on.
    expect(atA.calls[0].signal.aborted).toBe(false);
    fromA.controller.enqueue(bytes('still here'));
    fromA.controller.close();
    const { value } = await readerAtB.read();
    expect(new TextDecoder().decode(value)).toBe('still here');
    expect((await readerAtB.read()).done).toBe(true);
  }, 5000);

  test('an entry side giving up on its exchange stops only that one', async () => {
    const { fromA, fromB, readerAtA, readerAtB } = await exchangesBothWays();
    // B's client goes away: A stops serving B's exchange, and A's own exchange with B goes on.
    await readerAtB.cancel();
    await settle();
    expect(fromA.state.cancelled).toBe(true);
    expect(fromB.state.cancelled).toBe(false);
    fromB.controller.enqueue(bytes('for A'));
    expect(new TextDecoder().decode((await readerAtA.read()).value)).toBe('for A');
  }, 5000);
});
