import { ResumeWindow } from '../../src/protocol/resume-window.js';

const limits = { maxRetainedBytes: 10_000, ackEvery: 3 };
const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;

test('data frames are numbered from 1 and carry what this side received', () => {
  const w = new ResumeWindow(limits);
  expect(parse(w.send({ type: 'request', payload: { id: 1 } }))).toEqual({ type: 'request', payload: { id: 1 }, seq: 1, ack: 0 });
  expect(w.receive(1)).toBe('deliver');
  expect(w.receive(2)).toBe('deliver');
  expect(parse(w.send({ type: 'request' }))).toMatchObject({ seq: 2, ack: 2 });
  expect([w.lastSent, w.received, w.pending]).toEqual([2, 2, 2]);
});

test('frames are kept until acknowledged, and bytes are counted', () => {
  const w = new ResumeWindow(limits);
  const texts = [w.send({ n: 1 }), w.send({ n: 2 }), w.send({ n: 3 })];
  expect(w.bytes).toBe(texts.join('').length);
  w.acknowledge(2);
  expect([w.pending, w.bytes]).toEqual([1, texts[2].length]);
  // Backwards, repeated, past what was sent or not a number: nothing changes.
  for (const ack of [1, 2, 9, Number.NaN, -1, 2.5]) w.acknowledge(ack);
  expect(w.pending).toBe(1);
  w.acknowledge(3);
  expect([w.pending, w.bytes]).toEqual([0, 0]);
});

test('receiving: in order delivered once, duplicates dropped, a gap refused', () => {
  const w = new ResumeWindow(limits);
  expect(w.receive(1)).toBe('deliver');
  expect(w.receive(1)).toBe('duplicate');
  expect(w.receive(3)).toBe('gap');
  expect(w.received).toBe(1);
  expect(w.receive(2)).toBe('deliver');
  expect(w.receive(0)).toBe('duplicate');
  expect(w.receive(Number.NaN)).toBe('duplicate');
});

test('an acknowledgement is owed after anything received, due after ackEvery, and cleared by sending', () => {
  const w = new ResumeWindow(limits);
  expect([w.ackOwed, w.ackDue]).toEqual([false, false]);
  w.receive(1);
  w.receive(2);
  expect([w.ackOwed, w.ackDue]).toEqual([true, false]);
  w.receive(3);
  expect(w.ackDue).toBe(true);
  expect(w.acknowledged()).toBe(3);
  expect(w.ackOwed).toBe(false);
  w.receive(4);
  w.send({}); // carries ack 4
  expect(w.ackOwed).toBe(false);
});

test('after a reconnect, what the peer missed is sent again, in order, as it was', () => {
  const w = new ResumeWindow(limits);
  const texts = [1, 2, 3, 4].map((n) => w.send({ n }));
  w.acknowledge(1);
  expect(w.resendAfter(2)).toEqual(texts.slice(2));
  expect(w.pending).toBe(2);
  expect(w.resendAfter(4)).toEqual([]);
});

test('a resume that would lose frames is refused', () => {
  const w = new ResumeWindow(limits);
  [1, 2, 3].forEach((n) => w.send({ n }));
  w.acknowledge(2);
  expect(w.resendAfter(1)).toBeUndefined(); // the peer claims less than it acknowledged
  expect(w.resendAfter(7)).toBeUndefined(); // more than was ever sent
  expect(w.resendAfter(-1)).toBeUndefined();
});

test('past maxRetainedBytes frames are no longer kept: resuming is refused until the peer has acknowledged them', () => {
  const w = new ResumeWindow({ maxRetainedBytes: 100, ackEvery: 10 });
  const big = 'x'.repeat(60);
  w.send({ big });
  w.send({ big });
  expect(w.overflowed).toBe(true);
  w.send({ big }); // not kept
  expect(w.pending).toBe(2);
  expect(w.resendAfter(0)).toBeUndefined();
  // Once acknowledged, the window is whole again.
  w.acknowledge(3);
  expect(w.overflowed).toBe(false);
  w.send({ small: 1 });
  expect(w.resendAfter(3)?.map(parse)).toEqual([{ small: 1, seq: 4, ack: 0 }]);
});
