import { SendBacklog } from '../../../src/reverse-proxy/tunnel/send-backlog.js';

/** When a tunnel that is not reading is refused more, and when it counts as stuck. */

let now: number;
let backlog: SendBacklog;

beforeEach(() => {
  now = 1_000;
  backlog = new SendBacklog({ maxBufferedBytes: 100, stuckTimeoutMs: 500 }, () => now);
});

test('admits while the queue is under the limit, refuses from the limit on', () => {
  expect(backlog.admits(0)).toBe(true);
  expect(backlog.admits(99)).toBe(true);
  expect(backlog.admits(100)).toBe(false);
  expect(backlog.admits(5_000)).toBe(false);
});

test('is stuck only once the queue has stayed over the limit for the stuck timeout', () => {
  expect(backlog.isStuck(150)).toBe(false);
  now += 499;
  expect(backlog.isStuck(150)).toBe(false);
  now += 1;
  expect(backlog.isStuck(150)).toBe(true);
});

test('the time over the limit counts from the first look that saw it over, refused sends included', () => {
  expect(backlog.admits(150)).toBe(false);
  now += 500;
  expect(backlog.isStuck(150)).toBe(true);
});

test('a tunnel that catches up starts afresh', () => {
  backlog.admits(150);
  now += 400;
  expect(backlog.isStuck(10)).toBe(false);
  now += 400;
  expect(backlog.isStuck(150)).toBe(false);
  now += 499;
  expect(backlog.isStuck(150)).toBe(false);
  now += 1;
  expect(backlog.isStuck(150)).toBe(true);
});
