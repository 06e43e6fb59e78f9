import type { AudienceScope } from './audience.js';
import type { Principal } from './principal.js';

/** How long a verified token is trusted without checking its signature again, at most. */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Tokens remembered at once; the oldest is forgotten first. */
export const VERIFIED_TOKEN_CAPACITY = 10_000;

/** A remembered verification: who the token names, and which doors its audience allows. */
export interface VerifiedToken {
  principal: Principal;
  scope: AudienceScope;
}

/**
 * Tokens whose signature and claims were checked recently, with the principal they gave. A client
 * sends the same bearer token on every call; verifying an HMAC signature and parsing the claims
 * again each time was a tenth of the gateway's CPU per request. An entry lives until the token's
 * `exp`, VERIFIED_TOKEN_TTL_MS or its `notAfter` (the end of the JWKS snapshot it was checked
 * against), whichever is soonest, and the map is bounded.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken & { expiresAt: number }>();

  constructor(
    private readonly capacity = VERIFIED_TOKEN_CAPACITY,
    private readonly ttlMs = VERIFIED_TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The principal of a token verified before and not yet expired. */
  get(token: string): Principal | undefined {
    return this.entry(token)?.principal;
  }

  /** The verification of a token checked before and not yet expired. */
  entry(token: string): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry;
    this.entries.delete(token);
    return undefined;
  }

  /**
   * Remembers a verified token; `exp` is the token's claim (seconds since the epoch), if any;
   * `notAfter` (ms) ends the entry sooner; `scope` defaults to every door.
   */
  set(token: string, principal: Principal, exp: unknown, options: { notAfter?: number; scope?: AudienceScope } = {}): void {
    const now = this.now();
    const expiresAt = Math.min(now + this.ttlMs, typeof exp === 'number' ? exp * 1000 : Infinity, options.notAfter ?? Infinity);
    if (expiresAt <= now) return;
    this.entries.delete(token);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal: Object.freeze({ ...principal }), scope: options.scope ?? 'all', expiresAt });
  }

  /** Forgets every token (a signing key was rotated away). */
  clear(): void {
    this.entries.clear();
  }
}
