/**
 * A Schedule whose time moves only when the test says so: `advance(ms)` runs what came due, in
 * order. For the acknowledgement timers of resumable sessions.
 */
import type { Schedule } from '../../../src/client/resumable-session.js';

interface Entry {
  at: number;
  fn: () => void;
}

export class ManualSchedule {
  private now = 0;
  private entries: Entry[] = [];

  readonly schedule: Schedule = (fn, ms) => {
    const entry: Entry = { at: this.now + ms, fn };
    this.entries.push(entry);
    return () => {
      this.entries = this.entries.filter((e) => e !== entry);
    };
  };

  /** Timers waiting. */
  get pending(): number[] {
    return this.entries.map((e) => e.at - this.now);
  }

  /** Moves time on by `ms`, running each timer that came due. */
  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const due = this.entries.filter((e) => e.at <= this.now).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.entries = this.entries.filter((e) => e !== due);
      due.fn();
    }
  }
}
