import { jest } from '@jest/globals';
import { Backoff, BACKOFF_CAP_MS } from '../../src/client/backoff.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

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

  test('a ceiling passed to next() caps that draw only; the schedule keeps growing underneath', () => {
    const backoff = new Backoff({ baseMs: 1000, random: () => 0.999999 });
    expect([backoff.next(), backoff.next(), backoff.next(3000), backoff.next(3000), backoff.next()]).toEqual([
      999, 1999, 2999, 2999, 15999,
    ]);
  });

  test('a zero base never waits', () => {
    const backoff = new Backoff({ baseMs: 0, random: () => 0.9 });
    expect([backoff.next(), backoff.next()]).toEqual([0, 0]);
  });

  test('the schedule starts over when a connection that stayed up for stableMs goes down', () => {
    const clock = manualClock();
    const backoff = new Backoff({ baseMs: 1000, stableMs: 5000, random: () => 1, now: clock.now });
    backoff.next();
    backoff.next();
    backoff.next();
    backoff.markUp();
    clock.advance(4999);
    expect(backoff.attempt).toBe(3);
    clock.advance(1);
    expect(backoff.markDown()).toBe(true);
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(1000);
  });

  test('a connection that drops before it was stable keeps the schedule growing', () => {
    const clock = manualClock();
    const backoff = new Backoff({ baseMs: 1000, stableMs: 5000, random: () => 1, now: clock.now });
    backoff.next();
    backoff.next();
    backoff.markUp();
    clock.advance(4999);
    expect(backoff.markDown()).toBe(false);
    // Time spent down does not count as up.
    clock.advance(60_000);
    expect(backoff.markDown()).toBe(false);
    expect(backoff.attempt).toBe(2);
    expect(backoff.next()).toBe(4000);
  });

  test('a down without an up (a failed connect) is never stable', () => {
    const backoff = new Backoff({ baseMs: 1000, stableMs: 0, random: () => 1 });
    backoff.next();
    expect(backoff.markDown()).toBe(false);
    expect(backoff.attempt).toBe(1);
  });

  test('a waived attempt goes at once and counts, but the delays after it still start from the base', () => {
    const backoff = new Backoff({ baseMs: 1000, random: () => 1 });
    expect(backoff.waiveNext()).toBe(true);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 1000, 2000]);
    expect(backoff.attempt).toBe(3);
  });

  test('two waived attempts in a row are refused until a connection proves stable', () => {
    const clock = manualClock();
    const backoff = new Backoff({ baseMs: 1000, stableMs: 5000, random: () => 1, now: clock.now });
    expect(backoff.waiveNext()).toBe(true);
    expect(backoff.next()).toBe(0);
    // The waived attempt connected, and was dropped again at once.
    backoff.markUp();
    expect(backoff.markDown()).toBe(false);
    expect(backoff.waiveNext()).toBe(false);
    expect(backoff.next()).toBe(1000);
    // One attempt that waited: the next may be waived again.
    expect(backoff.waiveNext()).toBe(true);
    expect(backoff.next()).toBe(0);
    // Up long enough: a fresh start, waivable.
    backoff.markUp();
    clock.advance(5000);
    expect(backoff.markDown()).toBe(true);
    expect(backoff.waiveNext()).toBe(true);
    expect(backoff.next()).toBe(0);
    expect(backoff.attempt).toBe(1);
  });

  test('reset() also forgets a granted waiver', () => {
    const backoff = new Backoff({ baseMs: 1000, random: () => 1 });
    backoff.waiveNext();
    backoff.reset();
    expect(backoff.next()).toBe(1000);
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

/**
 * The link's policy, replayed on the schedule alone: what each close leads to. `restarting` is a
 * 1012 close; `upMs` how long the connection had been registered (undefined: never registered).
 */
describe('reconnect policy (as GatewayLink applies it)', () => {
  function policy(baseMs: number) {
    const clock = manualClock();
    const backoff = new Backoff({ baseMs, stableMs: 5000, random: () => 1, now: clock.now });
    return {
      /** One close, then the delay before the attempt it leads to. */
      close(event: { upMs?: number; restarting?: boolean }): number {
        if (event.upMs !== undefined) {
          backoff.markUp();
          clock.advance(event.upMs);
        }
        const established = backoff.markDown();
        if (event.restarting || established) backoff.waiveNext();
        return backoff.next();
      },
    };
  }

  test('a gateway restart after a long-lived link: at once, then the schedule from the start', () => {
    const link = policy(1000);
    // A long-gone outage once grew the schedule ...
    expect([link.close({}), link.close({}), link.close({}), link.close({})]).toEqual([1000, 2000, 4000, 8000]);
    // ... but the link then stayed up: the next outage starts from scratch, and its first retry does not wait.
    expect(link.close({ upMs: 60_000 })).toBe(0);
    expect([link.close({}), link.close({})]).toEqual([1000, 2000]);
  });

  test('back-to-back restarts do not add up: each one after a registered, stable link starts over', () => {
    const link = policy(1000);
    for (let restart = 0; restart < 5; restart++) {
      expect(link.close({ upMs: 10_000 })).toBe(0);
      expect(link.close({})).toBe(1000);
    }
  });

  test('a gateway that keeps refusing keeps growing the delay, to the cap', () => {
    const link = policy(1000);
    expect(Array.from({ length: 8 }, () => link.close({}))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });

  test('1012 skips the backoff for one attempt even with a huge base; if that attempt fails, the backoff applies', () => {
    const link = policy(30_000);
    expect(link.close({ upMs: 1000, restarting: true })).toBe(0);
    expect(link.close({})).toBe(30_000);
  });

  test('a gateway that accepts and drops at once (with or without 1012) still meets a growing delay', () => {
    const plain = policy(1000);
    expect(Array.from({ length: 5 }, () => plain.close({ upMs: 10 }))).toEqual([1000, 2000, 4000, 8000, 16000]);
    const restarting = policy(1000);
    // Every other attempt is waived, no more: no reconnect loop without pause.
    expect(Array.from({ length: 6 }, () => restarting.close({ upMs: 10, restarting: true }))).toEqual([0, 1000, 0, 2000, 0, 4000]);
  });
});
