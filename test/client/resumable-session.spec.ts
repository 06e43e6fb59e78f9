import { RESUME_DEFAULTS, ResumableSession } from '../../src/client/resumable-session.js';
import { ManualSchedule } from './helpers/manual-schedule.js';

const limits = { maxRetainedBytes: 10_000, ackEvery: 3, ackDelayMs: 100 };
const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;

let clock: ManualSchedule;
let acks: number[];
function session(overrides: Partial<typeof limits> = {}, token = 'tok-1'): ResumableSession {
  return new ResumableSession('s-1', token, { ...limits, ...overrides }, { sendAck: (ack) => acks.push(ack), schedule: clock.schedule });
}

beforeEach(() => {
  clock = new ManualSchedule();
  acks = [];
});

test("the contract's numbers are the defaults: 8 MiB kept, an ack after 64 frames or 100 ms", () => {
  expect(RESUME_DEFAULTS).toEqual({ maxRetainedBytes: 8 * 1024 * 1024, ackEvery: 64, ackDelayMs: 100 });
});

test('numbers what it sends from 1, carrying what it received', () => {
  const s = session();
  expect(parse(s.send({ type: 'response', payload: { id: 'gw-1' } }))).toEqual({
    type: 'response',
    payload: { id: 'gw-1' },
    seq: 1,
    ack: 0,
  });
  expect(s.arrive(1, 0)).toBe('deliver');
  expect(parse(s.send({ type: 'notification' }))).toMatchObject({ seq: 2, ack: 1 });
  expect(s.pending.frames).toBe(2);
});

test('takes arrivals once and in order: duplicates dropped, a skipped number or a missing seq is a gap', () => {
  const s = session();
  expect(s.arrive(1, undefined)).toBe('deliver');
  expect(s.arrive(1, undefined)).toBe('duplicate');
  expect(s.arrive(3, undefined)).toBe('gap');
  expect(s.arrive(undefined, undefined)).toBe('gap');
  expect(s.lastReceived).toBe(1);
  expect(s.arrive(2, undefined)).toBe('deliver');
  expect(s.lastReceived).toBe(2);
});

test('an owed ack goes out alone after 100 ms without a data frame to carry it', () => {
  const s = session();
  s.arrive(1, undefined);
  s.arrive(2, undefined);
  expect(clock.pending).toEqual([100]);
  clock.advance(99);
  expect(acks).toEqual([]);
  clock.advance(1);
  expect(acks).toEqual([2]);
  // Nothing owed, nothing scheduled.
  expect(clock.pending).toEqual([]);
});

test('a data frame sent meanwhile carries the ack: no ack frame', () => {
  const s = session();
  s.arrive(1, undefined);
  expect(parse(s.send({ type: 'response' }))).toMatchObject({ ack: 1 });
  expect(clock.pending).toEqual([]);
  clock.advance(1000);
  expect(acks).toEqual([]);
  // The next arrival owes again, with a fresh delay.
  s.arrive(2, undefined);
  clock.advance(100);
  expect(acks).toEqual([2]);
});

test('after ackEvery frames the ack goes out at once', () => {
  const s = session();
  s.arrive(1, undefined);
  s.arrive(2, undefined);
  expect(acks).toEqual([]);
  s.arrive(3, undefined);
  expect(acks).toEqual([3]);
  expect(clock.pending).toEqual([]);
  // Duplicates owe nothing.
  s.arrive(3, undefined);
  expect(clock.pending).toEqual([]);
});

test('a suspended session sends no ack (the resume carries what it received)', () => {
  const s = session();
  s.arrive(1, undefined);
  s.suspend();
  clock.advance(1000);
  expect(acks).toEqual([]);
  expect(s.resumeRequest()).toEqual({ token: 'tok-1', lastReceived: 1 });
});

test("the gateway's acks, piggybacked or alone, let go of what it has", () => {
  const s = session();
  for (let i = 0; i < 4; i++) s.send({ n: i });
  s.arrive(1, 2);
  expect(s.pending.frames).toBe(2);
  s.acknowledge(4);
  expect(s.pending).toEqual({ frames: 0, bytes: 0 });
});

test('a resume takes the new token and sends again exactly what the gateway missed', () => {
  const s = session();
  const texts = [1, 2, 3].map((n) => s.send({ n }));
  s.acknowledge(1);
  expect(s.resumed({ resumeToken: 'tok-2', lastReceived: 1 })).toEqual(texts.slice(1));
  expect(s.resumeRequest().token).toBe('tok-2');
  expect(s.canResume).toBe(true);
  // The gateway now holds 1: nothing before that is sent again on the next resume.
  expect(s.resumed({ resumeToken: 'tok-3', lastReceived: 3 })).toEqual([]);
});

test('a resume that would lose frames, or does not say what the gateway received, fails', () => {
  const s = session();
  [1, 2, 3].forEach((n) => s.send({ n }));
  s.acknowledge(2);
  expect(s.resumed({ resumeToken: 'tok-2', lastReceived: 1 })).toBeUndefined();
  expect(s.resumed({ resumeToken: 'tok-2', lastReceived: 9 })).toBeUndefined();
  expect(s.resumed({ resumeToken: 'tok-2' })).toBeUndefined();
});

test('a resume without a new token succeeds once; the spent token cannot resume again', () => {
  const s = session();
  expect(s.resumed({ lastReceived: 0 })).toEqual([]);
  expect(s.canResume).toBe(false);
});

test('past the buffer frames are still numbered but not kept: no resume until the gateway acknowledged them', () => {
  const s = session({ maxRetainedBytes: 100 });
  const big = 'x'.repeat(60);
  s.send({ big });
  s.send({ big }); // kept: it is the one that crosses the limit
  expect(s.canResume).toBe(true);
  s.send({ big }); // numbered 3, not kept
  expect(s.canResume).toBe(false);
  s.acknowledge(2);
  expect(s.canResume).toBe(false);
  // Once the gateway has the frame that was let go, nothing is missing any more.
  s.acknowledge(3);
  expect(s.canResume).toBe(true);
  expect(parse(s.send({ small: 1 }))).toMatchObject({ seq: 4 });
  expect(s.resumed({ resumeToken: 't', lastReceived: 3 })?.map(parse)).toEqual([{ small: 1, seq: 4, ack: 0 }]);
});

test('acks past what was sent or going backwards change nothing', () => {
  const s = session({ maxRetainedBytes: 10 });
  s.send({ big: 'x'.repeat(20) });
  s.send({ big: 'x'.repeat(20) }); // not kept
  s.acknowledge(7);
  expect(s.canResume).toBe(false);
  s.acknowledge(-1);
  s.acknowledge(1.5);
  expect(s.canResume).toBe(false);
});
