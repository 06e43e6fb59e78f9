/** The texts peers are told when authentication fails (kept identical on every door). */
export const AuthMessage = {
  Required: 'Authentication required',
  Failed: 'Authentication failed',
  NotConfigured: 'Token authentication is not configured',
  Unavailable: "Tokens cannot be checked right now (the identity provider's keys are unreachable); try again later",
} as const;

/**
 * Why authentication failed; the message is safe to show to the peer. `tokenRefused`: a token was
 * presented and refused (the 401's challenge then says `error="invalid_token"`), rather than none given.
 */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly tokenRefused = true,
    /** 401, or 503 when the token could not be checked at all (nothing is wrong with it as far as anyone knows). */
    readonly status: 401 | 503 = 401,
  ) {
    super(message);
    this.name = 'AuthError';
  }

  /** The token could not be checked (no key set could be fetched yet): 503, and the client keeps its token. */
  static unavailable(): AuthError {
    return new AuthError(AuthMessage.Unavailable, false, 503);
  }
}

/** Retry-After (seconds) on a 503 for a token that could not be checked: about one JWKS fetch cooldown. */
export const AUTH_RETRY_AFTER_S = '30';

/** The HTTP status of an authentication failure: the error's own, else 401. */
export function authFailureStatus(err: unknown): 401 | 503 {
  return err instanceof AuthError ? err.status : 401;
}
