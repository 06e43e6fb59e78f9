import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { AuthError, AuthService, type CredentialSource } from './auth.service.js';
import type { Principal } from './principal.js';

/** passport-jwt strategy: same token sources, algorithms, issuer and audience as the tunnel upgrade. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly auth: AuthService) {
    super({
      jwtFromRequest: (req: CredentialSource) => auth.extractToken(req) ?? null,
      secretOrKeyProvider: (_req: CredentialSource, _token: string, done: (err: Error | null, secret?: Buffer) => void) =>
        // passport-jwt hands the key to jsonwebtoken as is, which takes a KeyObject (typed here as Buffer).
        auth.secret ? done(null, auth.secret as unknown as Buffer) : done(new AuthError('Token authentication is not configured')),
      ...auth.verifyOptions,
      passReqToCallback: true,
    });
  }

  /** Turns verified claims into the request's Principal; the token is remembered as verified. */
  validate(req: CredentialSource, claims: Record<string, unknown>): Principal {
    return this.auth.acceptClaims(this.auth.extractToken(req)!, claims);
  }
}
