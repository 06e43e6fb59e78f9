/** The texts peers are told when authentication fails (kept identical on every door). */
export const AuthMessage = {
  Required: 'Authentication required',
  Failed: 'Authentication failed',
  NotConfigured: 'Token authentication is not configured',
} as const;

/**
 * Why authentication failed; the message is safe to show to the peer. `tokenRefused`: a token was
 * presented and refused (the 401's challenge then says `error="invalid_token"`), rather than none given.
 */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly tokenRefused = true,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}
