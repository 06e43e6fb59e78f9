import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a resume token (base64url: 43 characters). */
const TOKEN_BYTES = 32;

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

  constructor(private readonly random: (bytes: number) => Buffer = randomBytes) {}

  /** Tokens outstanding. */
  get size(): number {
    return this.byToken.size;
  }

  /** A new token for `session`; its previous one stops working. */
  issue(session: S): string {
    this.revoke(session.id);
    const token = this.random(TOKEN_BYTES).toString('base64url');
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
