/**
 * The bytes all MCP sessions together may keep for resumption. Created once and shared by every
 * session's event store: a store takes bytes before keeping an event and gives them back when it
 * drops it (or its session ends).
 */
export class EventStoreBudget {
  private usedBytes = 0;

  constructor(readonly totalBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) when they would exceed the total. */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.totalBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
  }
}
