import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { Principal } from './principal.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * passport-jwt, registered as passport's `jwt` strategy. TokenVerifier runs it for every token it
 * has not verified recently and gives it its options: the token to check, the key, the algorithm,
 * issuer and audience.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly verifier: TokenVerifier) {
    super(verifier.strategyOptions);
    verifier.useStrategy(this);
  }

  /** Turns verified claims into the request's Principal; the token is remembered as verified. */
  validate(req: object, claims: Record<string, unknown>): Principal {
    return this.verifier.accept(req, claims);
  }
}
