/** Why authentication failed; the message is safe to show to the peer. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}
