import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { ClusterBus } from '../../../src/reverse-proxy/cluster/cluster-bus.js';
import { RelaySeal, type ReceivedRelay, type RelayMessage } from '../../../src/reverse-proxy/cluster/relay-envelope.js';

const SECRET = 'bus-secret';
const PREFIX = 'gw:';
const seal = new RelaySeal(SECRET, { maxBytes: 65536, maxDepth: 32, maxAgeMs: 60_000 });

/** The part of an ioredis connection the bus uses: status, publish, subscribe and the 'message' event. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  readonly published: { channel: string; text: string }[] = [];
  readonly subscribed: string[] = [];
  publishResult: () => Promise<number> = () => Promise.resolve(1);

  publish(channel: string, text: string): Promise<number> {
    this.published.push({ channel, text });
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

test("send publishes the sealed message on the target replica's channel", () => {
  const message: RelayMessage = { t: 'cancel', session: 's1', call: 3, reason: 'gave up' };
  expect(bus.send('b', message)).toBe(true);
  expect(publisher.published).toHaveLength(1);
  expect(publisher.published[0].channel).toBe('gw:relay:b');
  expect(seal.open(publisher.published[0].text)).toEqual({ from: 'a', message });
  expect(subscriber.published).toEqual([]);
});

test('broadcast publishes on the broadcast channel', () => {
  expect(bus.broadcast({ t: 'hello' })).toBe(true);
  expect(publisher.published.map((p) => p.channel)).toEqual(['gw:broadcast']);
  expect(seal.open(publisher.published[0].text)).toEqual({ from: 'a', message: { t: 'hello' } });
});

test('nothing is sent while the publishing connection is not ready', () => {
  for (const status of ['connecting', 'reconnecting', 'end', 'wait', 'close']) {
    publisher.status = status;
    expect(bus.send('b', { t: 'hello' })).toBe(false);
    expect(bus.broadcast({ t: 'hello' })).toBe(false);
  }
  expect(publisher.published).toEqual([]);
});

test('a publish that fails later is swallowed (the message is lost like any pub/sub message)', async () => {
  const failures = jest.fn<() => Promise<number>>(() => Promise.reject(new Error('Connection is closed.')));
  publisher.publishResult = failures;
  const unhandled = jest.fn();
  process.on('unhandledRejection', unhandled);
  try {
    expect(bus.send('b', { t: 'hello' })).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
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
  const forged = new RelaySeal('not-the-secret', { maxBytes: 65536, maxDepth: 32, maxAgeMs: 60_000 });
  subscriber.deliver('gw:relay:a', forged.seal('b', { t: 'hello' }));
  subscriber.deliver('gw:relay:a', 'plain text');
  subscriber.deliver('gw:broadcast', '{"t":"hello"}');
  expect(received).toEqual([]);
  expect(bus.refusedCount).toBe(3);
  subscriber.deliver('gw:relay:a', seal.seal('b', { t: 'hello' }));
  expect(received).toHaveLength(1);
  expect(bus.refusedCount).toBe(3);
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
  expect(atB).toEqual([
    { from: 'a', message: { t: 'follow', session: 's', on: true } },
    { from: 'a', message: { t: 'hello' } },
  ]);
  expect(atA).toEqual([{ from: 'b', message: { t: 'follow', session: 's', on: false } }]);
});
