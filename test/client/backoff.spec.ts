import { jest } from '@jest/globals';
import { Backoff, BACKOFF_CAP_MS } from '../../src/client/backoff.js';

describe('Backoff', () => {
  afterEach(() => jest.useRealTimers());

  test('the ceiling doubles from the base and stops at 60 s', () => {
    const backoff = new Backoff({ baseMs: 1000 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoff.ceilingFor(n))).toEqual([
      1000,
      2000,
      4000,
      8000,
      16000,
      32000,
      BACKOFF_CAP_MS,
      BACKOFF_CAP_MS,
      BACKOFF_CAP_MS,
    ]);
  });

  test('full jitter: each delay is uniform between 0 and the ceiling', () => {
    const draws = [0, 0.5, 0.999999, 0.25];
    const backoff = new Backoff({ baseMs: 1000, random: () => draws.shift()! });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 1000, 3999, 2000]);
    expect(backoff.attempt).toBe(4);
  });

  test('a zero base never waits', () => {
    const backoff = new Backoff({ baseMs: 0, random: () => 0.9 });
    expect([backoff.next(), backoff.next()]).toEqual([0, 0]);
  });

  test('the schedule resets once a connection has stayed up for stableMs', () => {
    jest.useFakeTimers();
    const backoff = new Backoff({ baseMs: 1000, stableMs: 30_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.next();
    backoff.markUp();
    jest.advanceTimersByTime(29_999);
    expect(backoff.attempt).toBe(3);
    jest.advanceTimersByTime(1);
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(1000);
  });

  test('a connection that drops before it was stable keeps the schedule growing', () => {
    jest.useFakeTimers();
    const backoff = new Backoff({ baseMs: 1000, stableMs: 30_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.markUp();
    jest.advanceTimersByTime(10_000);
    backoff.markDown();
    jest.advanceTimersByTime(60_000);
    expect(backoff.attempt).toBe(2);
    expect(backoff.next()).toBe(4000);
  });

  test('a reconnect loop driven by the schedule waits exactly the drawn delays', () => {
    jest.useFakeTimers();
    const backoff = new Backoff({ baseMs: 500, random: () => 0.5 });
    const attempts: number[] = [];
    const retry = () => {
      attempts.push(Date.now());
      if (attempts.length < 5) setTimeout(retry, backoff.next());
    };
    const start = Date.now();
    retry();
    jest.runAllTimers();
    expect(attempts.map((t) => t - start)).toEqual([0, 250, 750, 1750, 3750]);
  });
});
