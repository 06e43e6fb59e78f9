import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a resume token (base64url: 43 characters). */
const TOKEN_BYTES = 32;
/** Between a token's home replica and its random part (in no replica id, nor in base64url). */
const HOME_SEPARATOR = '~';

interface Issued<S> {
  session: S;
  owner: string | null;
}

/**
 * The resume tokens of resumable tunnels (docs/protocol.md, "Resumption"): one current token per
 * session, random, bound to the session's owner, good for one resume (a resume gets a new one).
 */
@Injectable()
export class ResumeTokens<S extends { readonly id: string; readonly owner: string | null } = { id: string; owner: string | null }> {
  private readonly byToken = new Map<string, Issued<S>>();
  private readonly bySession = new Map<string, string>();

  constructor(
    private readonly random: (bytes: number) => Buffer = randomBytes,
    /** Cluster mode: this replica's id, carried in its tokens so another replica can tell where a session lives. */
    private readonly home?: string,
  ) {}

  /** The replica a token was issued by (cluster mode), as the token says; undefined for a token without one. */
  static homeOf(token: string): string | undefined {
    const at = token.indexOf(HOME_SEPARATOR);
    return at > 0 ? token.slice(0, at) : undefined;
  }

  /** Tokens outstanding. */
  get size(): number {
    return this.byToken.size;
  }

  /** A new token for `session`; its previous one stops working. */
  issue(session: S): string {
    this.revoke(session.id);
    const random = this.random(TOKEN_BYTES).toString('base64url');
    const token = this.home === undefined ? random : `${this.home}${HOME_SEPARATOR}${random}`;
    this.byToken.set(token, { session, owner: session.owner });
    this.bySession.set(session.id, token);
    return token;
  }

  /** The session `token` resumes, if it is current and `owner` is its owner; the token is used up either way. */
  redeem(token: string, owner: string | null): S | undefined {
    const issued = this.byToken.get(token);
    if (!issued) return undefined;
    this.revoke(issued.session.id);
    return sameOwner(issued.owner, owner) ? issued.session : undefined;
  }

  /** The session ended: its token stops working. */
  revoke(sessionId: string): void {
    const token = this.bySession.get(sessionId);
    if (token === undefined) return;
    this.bySession.delete(sessionId);
    this.byToken.delete(token);
  }
}

/** Owner keys compared in constant time (an anonymous session is resumed only anonymously). */
function sameOwner(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
