/** The texts peers are told when authentication fails (kept identical on every door). */
export const AuthMessage = {
  Required: 'Authentication required',
  Failed: 'Authentication failed',
  NotConfigured: 'Token authentication is not configured',
} as const;

/** Why authentication failed; the message is safe to show to the peer. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}
