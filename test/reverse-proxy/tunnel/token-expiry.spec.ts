/**
 * The schedule of a tunnel's token (docs/protocol.md, "Token expiry"), on a manual clock: when the
 * warning and the expiry come, how a fresh token moves them, and the bound on refreshes.
 */
import { TOKEN_EXPIRY_LIMITS, TokenExpiry, warningAt, type ExpiryTimers } from '../../../src/reverse-proxy/tunnel/token-expiry.js';

/** Timers that fire only when the test advances the clock. */
class ManualClock implements ExpiryTimers {
  now = 1_000_000;
  private next = 1;
  private readonly pending = new Map<number, { at: number; run: () => void }>();

  set(run: () => void, delayMs: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + delayMs, run });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get scheduled(): number {
    return this.pending.size;
  }

  /** Moves the clock to `at`, running every timer due by then, in order. */
  advanceTo(at: number): void {
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= at).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = at;
  }
}

const MINUTE = 60_000;

function schedule(warnMs = 5 * MINUTE) {
  const clock = new ManualClock();
  const events: string[] = [];
  const expiry = new TokenExpiry(
    {
      warn: (at) => events.push(`warn ${at - clock.now}ms before`),
      expire: (at) => events.push(`expire at ${at === clock.now ? 'exp' : clock.now}`),
    },
    { warnMs, now: () => clock.now, timers: clock },
  );
  return { clock, events, expiry };
}

test('warns TUNNEL_TOKEN_WARN_MS before exp, then expires at exp', () => {
  const { clock, events, expiry } = schedule();
  const exp = clock.now + 60 * MINUTE;
  expiry.watch(exp);
  clock.advanceTo(exp - 5 * MINUTE - 1);
  expect(events).toEqual([]);
  clock.advanceTo(exp);
  expect(events).toEqual([`warn ${5 * MINUTE}ms before`, 'expire at exp']);
  expect(expiry.expiresAt).toBe(exp);
});

test('a token with less than twice the warning left is warned at half of what remains', () => {
  expect(warningAt(10_000, 0, 300_000)).toBe(5_000);
  expect(warningAt(1_000_000, 0, 300_000)).toBe(700_000);
  // Already expired: the warning is due at exp itself (none is sent ahead).
  expect(warningAt(1_000, 5_000, 300_000)).toBe(1_000);
});

test('a fresh token moves both the warning and the expiry; the old ones never fire', () => {
  const { clock, events, expiry } = schedule(MINUTE);
  const first = clock.now + 10 * MINUTE;
  expiry.watch(first);
  clock.advanceTo(first - MINUTE);
  expect(events).toEqual([`warn ${MINUTE}ms before`]);
  const second = first + 60 * MINUTE;
  expiry.watch(second);
  clock.advanceTo(first + 1);
  expect(events).toHaveLength(1);
  clock.advanceTo(second);
  expect(events).toEqual([`warn ${MINUTE}ms before`, `warn ${MINUTE}ms before`, 'expire at exp']);
});

test('a token without exp is not followed; stop() cancels everything', () => {
  const { clock, events, expiry } = schedule();
  expiry.watch(undefined);
  expect(clock.scheduled).toBe(0);
  expiry.watch(clock.now + MINUTE);
  expect(clock.scheduled).toBe(2);
  expiry.stop();
  clock.advanceTo(clock.now + 2 * MINUTE);
  expect(events).toEqual([]);
});

test('an exp beyond the longest timer is reached in steps, not fired at once', () => {
  const { clock, events, expiry } = schedule();
  const exp = clock.now + 60 * 24 * 60 * MINUTE; // 60 days
  expiry.watch(exp);
  clock.advanceTo(clock.now + TOKEN_EXPIRY_LIMITS.maxTimerMs + 1);
  expect(events).toEqual([]);
  clock.advanceTo(exp);
  expect(events).toEqual([`warn ${5 * MINUTE}ms before`, 'expire at exp']);
});

test('refreshes: one at a time, at most one per interval', () => {
  const { clock, expiry } = schedule();
  expect(expiry.beginRefresh()).toBe(true);
  clock.advanceTo(clock.now + TOKEN_EXPIRY_LIMITS.refreshIntervalMs * 5);
  // The first is still being verified.
  expect(expiry.beginRefresh()).toBe(false);
  expiry.refreshDone();
  expect(expiry.beginRefresh()).toBe(true);
  expiry.refreshDone();
  clock.advanceTo(clock.now + TOKEN_EXPIRY_LIMITS.refreshIntervalMs - 1);
  expect(expiry.beginRefresh()).toBe(false);
  clock.advanceTo(clock.now + 1);
  expect(expiry.beginRefresh()).toBe(true);
});
