/**
 * The resource subscriptions the gateway holds through this tunnel, by URI: what the local server
 * was asked to `resources/subscribe` to (and answered with success), less what it was asked to
 * `resources/unsubscribe` from. A restarted server knows none of them, so the tunnel subscribes it
 * again and the gateway's MCP clients keep getting `resources/updated`. The gateway subscribes a
 * URI once however many of its clients follow it, so a set of URIs is all there is to remember.
 */

/** Limits on what is remembered; past them a subscription still works, but a restart does not restore it. */
export const HELD_SUBSCRIPTION_LIMITS = {
  /** URIs remembered at once. */
  uris: 10_000,
  /** Characters of one URI (with `uris`, keeps the memory to a few tens of MB at worst). */
  uriLength: 2048,
} as const;

export class HeldSubscriptions {
  /** Insertion-ordered, so a restart subscribes again in the order the clients did. */
  private readonly held = new Set<string>();
  /** Subscriptions not remembered (over a limit) since the last clear(). */
  refused = 0;

  constructor(readonly limits: { uris: number; uriLength: number } = HELD_SUBSCRIPTION_LIMITS) {}

  get size(): number {
    return this.held.size;
  }

  /** The URIs, in the order they were first subscribed. */
  get uris(): string[] {
    return [...this.held];
  }

  /** Remembers a subscribed URI; false when it is over a limit and was not remembered. */
  add(uri: string): boolean {
    if (this.held.has(uri)) return true;
    if (uri.length > this.limits.uriLength || this.held.size >= this.limits.uris) {
      this.refused++;
      return false;
    }
    this.held.add(uri);
    return true;
  }

  delete(uri: string): void {
    this.held.delete(uri);
  }

  /** A new gateway session: it subscribes the server again itself, to what its clients follow. */
  clear(): void {
    this.held.clear();
    this.refused = 0;
  }
}
