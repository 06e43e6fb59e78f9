import { AUTH_RETRY_AFTER_S, AuthError, AuthMessage, authFailureStatus } from './auth-error.js';

/** Where a 401 points its client (RFC 9728 §5.1): set only while the gateway publishes Protected Resource Metadata. */
export interface ChallengeHints {
  /** The URL of the metadata document of the resource the request was for. */
  resource_metadata?: string;
  /** The scopes to ask for, space-separated (RFC 6750 §3). */
  scope?: string;
}

/** The parameters of a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1); a later one is one more field. */
export interface BearerChallenge extends ChallengeHints {
  /** `invalid_token` when a token was presented and refused; absent when none was presented (RFC 6750 §3.1). */
  error?: 'invalid_token';
}

/** The header every 401 carries. */
export const WWW_AUTHENTICATE = 'WWW-Authenticate';

/**
 * The `WWW-Authenticate` value of a 401, on every door (HTTP routes, the tunnel upgrade): `Bearer`,
 * then the challenge's parameters as quoted strings, in a fixed order.
 */
export function bearerChallenge(challenge: BearerChallenge = {}): string {
  const ordered = { error: challenge.error, resource_metadata: challenge.resource_metadata, scope: challenge.scope };
  const params = Object.entries(ordered)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([key, value]) => `${key}="${value.replace(/["\\]/g, '\\$&')}"`);
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/**
 * The challenge for a refused request: `invalid_token` when its AuthError says a token was refused;
 * `hints` (ProtectedResource.challengeHints) say where the request's resource metadata is.
 */
export function challengeFor(err: unknown, hints: ChallengeHints = {}): string {
  return bearerChallenge({ ...hints, ...(err instanceof AuthError && err.tokenRefused ? { error: 'invalid_token' } : {}) });
}

const BEARER_HEADER = /^bearer\s/i;

/**
 * The challenge for a 401 thrown by a route's guard (the error filter answers it): `invalid_token`
 * when the request carried a bearer token, which the guard then refused.
 */
export function challengeForRequest(headers: { authorization?: string | string[] }, hints: ChallengeHints = {}): string {
  const header = headers.authorization;
  const refused = typeof header === 'string' && BEARER_HEADER.test(header);
  return bearerChallenge({ ...hints, ...(refused ? { error: 'invalid_token' } : {}) });
}

/** How a request refused by authentication is answered, on every door alike (HTTP routes, the tunnel upgrade). */
export interface AuthRefusal {
  /** 401, or 503 when the token could not be checked at all. */
  status: 401 | 503;
  /** The message safe to show the peer. */
  message: string;
  /** The challenge of a 401, or the Retry-After of a 503. */
  headers: Record<string, string>;
}

/** The answer to a request whose authentication failed with `err`; `hints` as for challengeFor. */
export function authRefusal(err: unknown, hints?: ChallengeHints): AuthRefusal {
  const status = authFailureStatus(err);
  return {
    status,
    message: err instanceof AuthError ? err.message : AuthMessage.Failed,
    // A challenge only where a token would help: a 503 says to come back later with the same one.
    headers: status === 401 ? { [WWW_AUTHENTICATE]: challengeFor(err, hints) } : { 'Retry-After': AUTH_RETRY_AFTER_S },
  };
}
