/**
 * What the tunnel client does when the gateway says its token is about to expire (`token_expiring`,
 * docs/protocol.md "Token expiry"): send the token it reads now, when that one lasts longer, or tell
 * the user once what to do. Pure: the caller reads the token file and sends the frame.
 */
import { decodeJwt } from 'jose';

/** When a JWT expires (ms since the epoch), read from its `exp` without checking it (the gateway does); undefined for a token without one, or not a JWT. */
export function tokenExpiresAt(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface RefreshInput {
  /** The token read now (the file again), or undefined when there is none to read. */
  fresh: string | undefined;
  /** Why it could not be read, when it could not. */
  readError?: string;
  /** The token the gateway knows for this tunnel (its connection's, or the last one sent in a refresh). */
  presented: string | undefined;
  /** When the gateway said the tunnel's token expires. */
  expiresAt: number;
  now: number;
  /** Where tokens come from, for the advice: the token file's path; undefined when not from a file. */
  tokenFile?: string;
}

/** Send this token, or say this (once) to the user. */
export type RefreshDecision = { send: string } | { advice: string };

/** Decides what answers a `token_expiring`: a token that is not the one presented and outlives it is sent. */
export function decideRefresh(input: RefreshInput): RefreshDecision {
  const { fresh, presented, expiresAt, now, tokenFile } = input;
  const fix = tokenFile
    ? `write a fresh token to ${tokenFile} before then and the tunnel carries on`
    : 'give the token in a file (--token-file) and the tunnel picks up a rotated one without a restart';
  if (input.readError !== undefined) return { advice: `the token file cannot be read (${input.readError}); ${fix}` };
  if (fresh === undefined || fresh === presented) return { advice: `no fresh token is available; ${fix}` };
  const freshExpiresAt = tokenExpiresAt(fresh);
  if (freshExpiresAt !== undefined && freshExpiresAt <= now) return { advice: `the token in the file has expired as well; ${fix}` };
  if (freshExpiresAt !== undefined && freshExpiresAt <= expiresAt) {
    return { advice: `the token in the file does not last longer than the one in use; ${fix}` };
  }
  return { send: fresh };
}
