import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { ClusterBus } from '../../../src/reverse-proxy/cluster/cluster-bus.js';
import { RelaySeal, type ReceivedRelay, type RelayMessage } from '../../../src/reverse-proxy/cluster/relay-envelope.js';

const SECRET = 'bus-secret';
const PREFIX = 'gw:';
const LIMITS = { maxBytes: 65536, maxDepth: 32, maxAgeMs: 60_000, maxBatchMessages: 64 };
const seal = new RelaySeal(SECRET, LIMITS);

/** The end of the current event-loop turn, when the bus publishes what was sent in it. */
const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

/** The part of an ioredis connection the bus uses: status, publish, subscribe and the 'message' event. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  readonly published: { channel: string; text: string }[] = [];
  readonly subscribed: string[] = [];
  publishResult: () => Promise<number> = () => Promise.resolve(1);
  /** The connection's socket, as far as the bus corks it; `writes` records what left in which uncorked write. */
  readonly stream = {
    corked: 0,
    writes: [] as string[][],
    held: [] as string[],
    cork(): void {
      this.corked++;
    },
    uncork(): void {
      if (--this.corked === 0 && this.held.length > 0) this.writes.push(this.held.splice(0));
    },
  };

  publish(channel: string, text: string): Promise<number> {
    this.published.push({ channel, text });
    if (this.stream.corked > 0) this.stream.held.push(channel);
    else this.stream.writes.push([channel]);
    return this.publishResult();
  }

  subscribe(...channels: string[]): Promise<number> {
    this.subscribed.push(...channels);
    return Promise.resolve(this.subscribed.length);
  }

  /** Redis delivering `text` on `channel` to this (subscribed) connection. */
  deliver(channel: string, text: string): void {
    this.emit('message', channel, text);
  }

  asRedis(): Redis {
    return this as unknown as Redis;
  }
}

let publisher: FakeRedis;
let subscriber: FakeRedis;
let bus: ClusterBus;
let received: ReceivedRelay[];

beforeEach(() => {
  publisher = new FakeRedis();
  subscriber = new FakeRedis();
  bus = new ClusterBus({ publisher: publisher.asRedis(), subscriber: subscriber.asRedis(), seal, prefix: PREFIX, replicaId: 'a' });
  received = [];
  bus.messages$.subscribe((r) => received.push(r));
});

test("start subscribes to the replica's own channel and the broadcast channel", async () => {
  await bus.start();
  expect(subscriber.subscribed).toEqual(['gw:relay:a', 'gw:broadcast']);
  expect(publisher.subscribed).toEqual([]);
});

test("send publishes the sealed message on the target replica's channel at the end of the turn", async () => {
  const message: RelayMessage = { t: 'cancel', session: 's1', call: 3, reason: 'gave up' };
  expect(bus.send('b', message)).toBe(true);
  expect(publisher.published).toEqual([]);
  await endOfTurn();
  expect(publisher.published).toHaveLength(1);
  expect(publisher.published[0].channel).toBe('gw:relay:b');
  expect(seal.open(publisher.published[0].text)).toEqual({ from: 'a', message });
  expect(subscriber.published).toEqual([]);
});

test('broadcast publishes on the broadcast channel', async () => {
  expect(bus.broadcast({ t: 'hello' })).toBe(true);
  await endOfTurn();
  expect(publisher.published.map((p) => p.channel)).toEqual(['gw:broadcast']);
  expect(seal.open(publisher.published[0].text)).toEqual({ from: 'a', message: { t: 'hello' } });
});

test('nothing is sent while the publishing connection is not ready', async () => {
  for (const status of ['connecting', 'reconnecting', 'end', 'wait', 'close']) {
    publisher.status = status;
    expect(bus.send('b', { t: 'hello' })).toBe(false);
    expect(bus.broadcast({ t: 'hello' })).toBe(false);
  }
  await endOfTurn();
  expect(publisher.published).toEqual([]);
});

test("a turn's messages for one replica leave as one sealed batch, in order, in one socket write", async () => {
  const messages: RelayMessage[] = [
    { t: 'x-head', x: 1, status: 200, headers: [] },
    { t: 'x-chunk', x: 1, data: 'abc' },
    { t: 'x-end', x: 1 },
  ];
  for (const message of messages) bus.send('b', message);
  await endOfTurn();
  expect(publisher.published).toHaveLength(1);
  expect(seal.openBatch(publisher.published[0].text)).toEqual({ from: 'a', messages, skipped: 0 });
  expect(publisher.stream.writes).toEqual([['gw:relay:b']]);
  expect(publisher.stream.corked).toBe(0);
  // The next turn's messages are a batch of their own.
  bus.send('b', { t: 'x-abort', x: 2 });
  await endOfTurn();
  expect(publisher.published).toHaveLength(2);
  expect(seal.open(publisher.published[1].text)).toEqual({ from: 'a', message: { t: 'x-abort', x: 2 } });
});

test('messages for different channels keep the order they were sent in, and leave in one write', async () => {
  bus.send('b', { t: 'x-end', x: 1 });
  bus.send('b', { t: 'x-end', x: 2 });
  bus.broadcast({ t: 'directory', removed: 's1' });
  bus.send('c', { t: 'x-end', x: 3 });
  bus.send('b', { t: 'x-end', x: 4 });
  await endOfTurn();
  expect(publisher.published.map((p) => [p.channel, seal.openBatch(p.text)?.messages])).toEqual([
    [
      'gw:relay:b',
      [
        { t: 'x-end', x: 1 },
        { t: 'x-end', x: 2 },
      ],
    ],
    ['gw:broadcast', [{ t: 'directory', removed: 's1' }]],
    ['gw:relay:c', [{ t: 'x-end', x: 3 }]],
    ['gw:relay:b', [{ t: 'x-end', x: 4 }]],
  ]);
  expect(publisher.stream.writes).toEqual([['gw:relay:b', 'gw:broadcast', 'gw:relay:c', 'gw:relay:b']]);
});

test('a run longer than the batch limit is published as several batches', async () => {
  const small = new ClusterBus({
    publisher: publisher.asRedis(),
    subscriber: new FakeRedis().asRedis(),
    seal: new RelaySeal(SECRET, { ...LIMITS, maxBatchMessages: 2 }),
    prefix: PREFIX,
    replicaId: 'a',
  });
  for (let x = 1; x <= 5; x++) small.send('b', { t: 'x-end', x });
  await endOfTurn();
  expect(publisher.published.map((p) => seal.openBatch(p.text)?.messages.map((m) => (m as { x: number }).x))).toEqual([
    [1, 2],
    [3, 4],
    [5],
  ]);
});

test('flush publishes what was sent in this turn at once (before the connection closes)', async () => {
  bus.send('b', { t: 'x-end', x: 1 });
  bus.flush();
  expect(publisher.published).toHaveLength(1);
  await endOfTurn();
  expect(publisher.published).toHaveLength(1);
});

test('what is sent in a turn is not what the caller changes afterwards', async () => {
  const message = { t: 'x-chunk' as const, x: 1, data: 'before' };
  bus.send('b', message);
  message.data = 'after';
  await endOfTurn();
  expect(seal.open(publisher.published[0].text)?.message).toEqual({ t: 'x-chunk', x: 1, data: 'before' });
});

test('a publish that fails later is swallowed (the message is lost like any pub/sub message)', async () => {
  const failures = jest.fn<() => Promise<number>>(() => Promise.reject(new Error('Connection is closed.')));
  publisher.publishResult = failures;
  const unhandled = jest.fn();
  process.on('unhandledRejection', unhandled);
  try {
    expect(bus.send('b', { t: 'hello' })).toBe(true);
    await endOfTurn();
    await endOfTurn();
    expect(failures).toHaveBeenCalledTimes(1);
    expect(unhandled).not.toHaveBeenCalled();
  } finally {
    process.off('unhandledRejection', unhandled);
  }
});

test('connected only while both connections are ready', () => {
  expect(bus.connected).toBe(true);
  subscriber.status = 'reconnecting';
  expect(bus.connected).toBe(false);
  subscriber.status = 'ready';
  publisher.status = 'connecting';
  expect(bus.connected).toBe(false);
  publisher.status = 'ready';
  expect(bus.connected).toBe(true);
});

test('a sealed message from another replica, on its own channel or the broadcast channel, is delivered', () => {
  subscriber.deliver('gw:relay:a', seal.seal('b', { t: 'x-end', x: 1 }));
  subscriber.deliver('gw:broadcast', seal.seal('c', { t: 'directory', removed: 's9' }));
  expect(received).toEqual([
    { from: 'b', message: { t: 'x-end', x: 1 } },
    { from: 'c', message: { t: 'directory', removed: 's9' } },
  ]);
  expect(bus.refusedCount).toBe(0);
});

test('its own broadcasts are not delivered back, and other channels are ignored (not counted as refused)', () => {
  subscriber.deliver('gw:broadcast', seal.seal('a', { t: 'hello' }));
  subscriber.deliver('gw:relay:b', seal.seal('c', { t: 'hello' }));
  subscriber.deliver('other:relay:a', seal.seal('c', { t: 'hello' }));
  expect(received).toEqual([]);
  expect(bus.refusedCount).toBe(0);
});

test('what does not open is counted and dropped', () => {
  const forged = new RelaySeal('not-the-secret', LIMITS);
  subscriber.deliver('gw:relay:a', forged.seal('b', { t: 'hello' }));
  subscriber.deliver('gw:relay:a', 'plain text');
  subscriber.deliver('gw:broadcast', '{"t":"hello"}');
  expect(received).toEqual([]);
  expect(bus.refusedCount).toBe(3);
  subscriber.deliver('gw:relay:a', seal.seal('b', { t: 'hello' }));
  expect(received).toHaveLength(1);
  expect(bus.refusedCount).toBe(3);
});

test('a sealed batch is delivered message by message; its entries of unknown type are counted as refused', () => {
  const [text] = seal.sealBatch('b', [
    JSON.stringify({ t: 'x-end', x: 1 }),
    JSON.stringify({ t: 'from-a-newer-version' }),
    JSON.stringify({ t: 'x-end', x: 2 }),
  ]);
  subscriber.deliver('gw:relay:a', text);
  expect(received).toEqual([
    { from: 'b', message: { t: 'x-end', x: 1 } },
    { from: 'b', message: { t: 'x-end', x: 2 } },
  ]);
  expect(bus.refusedCount).toBe(1);
  // Its own broadcast batch is not delivered back.
  subscriber.deliver('gw:broadcast', seal.sealBatch('a', [JSON.stringify({ t: 'hello' }), JSON.stringify({ t: 'hello' })])[0]);
  expect(received).toHaveLength(2);
});

test('two buses over one Redis reach each other', async () => {
  // A tiny Redis: what any connection publishes reaches every connection subscribed to the channel.
  const connections: FakeRedis[] = [];
  const redis = () => {
    const connection = new FakeRedis();
    connection.publish = (channel: string, text: string) => {
      for (const c of connections) if (c.subscribed.includes(channel)) c.deliver(channel, text);
      return Promise.resolve(1);
    };
    connections.push(connection);
    return connection.asRedis();
  };
  const a = new ClusterBus({ publisher: redis(), subscriber: redis(), seal, prefix: PREFIX, replicaId: 'a' });
  const b = new ClusterBus({ publisher: redis(), subscriber: redis(), seal, prefix: PREFIX, replicaId: 'b' });
  await Promise.all([a.start(), b.start()]);
  const atA: ReceivedRelay[] = [];
  const atB: ReceivedRelay[] = [];
  a.messages$.subscribe((r) => atA.push(r));
  b.messages$.subscribe((r) => atB.push(r));

  a.send('b', { t: 'follow', session: 's', on: true });
  b.send('a', { t: 'follow', session: 's', on: false });
  a.broadcast({ t: 'hello' });
  await endOfTurn();
  expect(atB).toEqual([
    { from: 'a', message: { t: 'follow', session: 's', on: true } },
    { from: 'a', message: { t: 'hello' } },
  ]);
  expect(atA).toEqual([{ from: 'b', message: { t: 'follow', session: 's', on: false } }]);
});
