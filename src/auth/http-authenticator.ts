import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import passport from 'passport';
import { AuthError, AuthService } from './auth.service.js';
import type { Principal } from './principal.js';

/**
 * Who an HTTP request comes from. A presented token is verified by passport-jwt (JwtStrategy),
 * unless the same token was verified within the last minute (AuthService.recentlyVerified); without
 * one, the trusted proxy header or (auth off) anonymous access applies, as on the tunnel upgrade.
 * Runs in the auth hook, before the body is read.
 */
@Injectable()
export class HttpAuthenticator {
  constructor(private readonly auth: AuthService) {}

  /** The request's principal; rejects with AuthError (its message is safe to show the caller). */
  async authenticate(req: IncomingMessage): Promise<Principal> {
    const token = this.auth.extractToken(req);
    if (!token) return this.auth.authenticate(req);
    return this.auth.recentlyVerified(token) ?? verifyWithPassport(req);
  }
}

/** What `passport.authenticate()` returns (typed `any`): a Connect-style middleware. */
type PassportMiddleware = (req: IncomingMessage, res: undefined, next: () => void) => void;

/** Runs the `jwt` strategy on the request, outside of any framework's middleware chain. */
function verifyWithPassport(req: IncomingMessage): Promise<Principal> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, user: Principal | false, info: unknown): void => {
      if (user) return resolve(user);
      if (err instanceof AuthError) return reject(err);
      const name = info instanceof Error ? info.name : '';
      reject(new AuthError(name === 'TokenExpiredError' ? 'Token expired' : 'Invalid token'));
    };
    // With a callback and no session, passport neither writes the response nor calls next.
    (passport.authenticate('jwt', { session: false }, done) as PassportMiddleware)(req, undefined, () => undefined);
  });
}
