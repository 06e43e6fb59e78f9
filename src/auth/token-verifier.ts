import { Inject, Injectable } from '@nestjs/common';
import { createSecretKey, type KeyObject } from 'node:crypto';
import passport from 'passport';
import type { StrategyOptionsWithRequest } from 'passport-jwt';
import type { AppConfig } from '../config/app-config.js';
import { isObject } from '../protocol/json-rpc.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AuthError, AuthMessage } from './auth-error.js';
import type { Principal } from './principal.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** What `passport.authenticate()` returns (typed `any`): a Connect-style middleware. */
type PassportMiddleware = (req: object, res: undefined, next: (err?: unknown) => void) => void;

/**
 * The one way a bearer token is verified, on the tunnel upgrade and on every HTTP request alike:
 * a token verified within the last minute is answered from the VerifiedTokenCache, any other goes
 * through passport-jwt (JwtStrategy, which takes its options and key from here). The HMAC key, the
 * verify options and the cache live here and nowhere else.
 */
@Injectable()
export class TokenVerifier {
  /**
   * The HMAC key, built once: given a string, jsonwebtoken first tries it as a public key on every
   * verify, which costs about half a millisecond of CPU per request.
   */
  private readonly key: KeyObject | undefined;
  private readonly verified = new VerifiedTokenCache();
  /** The token each request is being verified for, read back by the strategy (see strategyOptions). */
  private readonly presented = new WeakMap<object, string>();
  /**
   * This app's own JwtStrategy. passport keeps one `jwt` strategy per process, the last one built:
   * two apps in one process (replicas in a test) would otherwise verify with each other's.
   */
  private strategy: passport.Strategy | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const secret = config.auth.jwtSecret;
    this.key = secret ? createSecretKey(Buffer.from(secret, 'utf8')) : undefined;
  }

  /** JwtStrategy's options: the token AuthService chose, the one key, the configured algorithm, issuer and audience. */
  get strategyOptions(): StrategyOptionsWithRequest {
    const { jwtAlgorithm, jwtIssuer, jwtAudience } = this.config.auth;
    return {
      jwtFromRequest: (req: object) => this.presented.get(req) ?? null,
      secretOrKeyProvider: (_req: unknown, _token: unknown, done: (err: unknown, key?: Buffer) => void) =>
        // passport-jwt hands the key to jsonwebtoken as is, which takes a KeyObject too (typed string | Buffer here).
        this.key ? done(null, this.key as unknown as Buffer) : done(new AuthError(AuthMessage.NotConfigured)),
      algorithms: [jwtAlgorithm],
      ...(jwtIssuer ? { issuer: jwtIssuer } : {}),
      ...(jwtAudience ? { audience: jwtAudience } : {}),
      passReqToCallback: true,
    };
  }

  /** Called by JwtStrategy when it is built: the strategy this verifier runs. */
  useStrategy(strategy: passport.Strategy): void {
    this.strategy = strategy;
  }

  /** The principal of a token verified moments ago, without verifying it again (a map lookup). */
  recentlyVerified(token: string): Principal | undefined {
    return this.verified.get(token);
  }

  /** The principal of `token`, presented by `req`; rejects with AuthError (its message is safe to show the peer). */
  async verify(req: object, token: string): Promise<Principal> {
    if (!this.key) throw new AuthError(AuthMessage.NotConfigured);
    return this.verified.get(token) ?? this.runStrategy(req, token);
  }

  /** JwtStrategy's `validate`: turns verified claims into a Principal and remembers the token until its `exp` (at most a minute). */
  accept(req: object, claims: Record<string, unknown>): Principal {
    const principal = principalFromClaims(claims);
    const token = this.presented.get(req);
    if (token !== undefined) this.verified.set(token, principal, claims.exp);
    return principal;
  }

  /** Runs the `jwt` strategy on the request, outside of any framework's middleware chain (an HTTP request or a tunnel upgrade). */
  private runStrategy(req: object, token: string): Promise<Principal> {
    this.presented.set(req, token);
    return new Promise<Principal>((resolve, reject) => {
      const done = (err: unknown, user: Principal | false, info: unknown): void => {
        if (user) return resolve(user);
        if (err instanceof AuthError) return reject(err);
        if (info instanceof AuthError) return reject(info);
        const name = info instanceof Error ? info.name : '';
        reject(new AuthError(name === 'TokenExpiredError' ? 'Token expired' : 'Invalid token'));
      };
      // With a callback and no session, passport neither writes the response nor calls next, unless
      // the strategy is missing (JwtStrategy not constructed): then fail instead of waiting forever.
      (passport.authenticate(this.strategy ?? 'jwt', { session: false }, done) as PassportMiddleware)(req, undefined, (err) =>
        reject(err instanceof Error ? err : new Error('passport did not run the jwt strategy')),
      );
    }).finally(() => this.presented.delete(req));
  }
}

/** Owner is `sub`, else `email`; admin is `is_admin` at top level or under `user`. */
function principalFromClaims(claims: Record<string, unknown>): Principal {
  const sub = typeof claims.sub === 'string' && claims.sub ? claims.sub : undefined;
  const email = typeof claims.email === 'string' && claims.email ? claims.email : undefined;
  const user = sub ?? email;
  if (!user) throw new AuthError('Token has neither sub nor email');
  const nested = claims.user;
  const nestedAdmin = isObject(nested) && nested.is_admin === true;
  return { user, isAdmin: claims.is_admin === true || nestedAdmin, via: 'jwt' };
}
