import { AuthError } from './auth-error.js';

/** The parameters of a Bearer challenge (RFC 6750 §3); a later one (e.g. `resource_metadata`) is one more field. */
export interface BearerChallenge {
  /** `invalid_token` when a token was presented and refused; absent when none was presented (RFC 6750 §3.1). */
  error?: 'invalid_token';
}

/** The header every 401 carries. */
export const WWW_AUTHENTICATE = 'WWW-Authenticate';

/**
 * The `WWW-Authenticate` value of a 401, on every door (HTTP routes, the tunnel upgrade): `Bearer`,
 * then the challenge's parameters as quoted strings.
 */
export function bearerChallenge(challenge: BearerChallenge = {}): string {
  const params = Object.entries(challenge)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([key, value]) => `${key}="${value.replace(/["\\]/g, '\\$&')}"`);
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** The challenge for a refused request: `invalid_token` when its AuthError says a token was refused. */
export function challengeFor(err: unknown): string {
  return bearerChallenge(err instanceof AuthError && err.tokenRefused ? { error: 'invalid_token' } : {});
}

const BEARER_HEADER = /^bearer\s/i;

/**
 * The challenge for a 401 thrown by a route's guard (the error filter answers it): `invalid_token`
 * when the request carried a bearer token, which the guard then refused.
 */
export function challengeForRequest(headers: { authorization?: string | string[] }): string {
  const header = headers.authorization;
  return bearerChallenge(typeof header === 'string' && BEARER_HEADER.test(header) ? { error: 'invalid_token' } : {});
}
