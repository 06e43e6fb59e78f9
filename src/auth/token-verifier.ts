import { Inject, Injectable, Logger } from '@nestjs/common';
import { errors, jwtVerify, type JWTVerifyOptions } from 'jose';
import { createSecretKey } from 'node:crypto';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { audienceScope, scopeAllows, type AudienceRules } from './audience.js';
import { AuthError, AuthMessage } from './auth-error.js';
import { principalFromClaims } from './claims-mapping.js';
import { JwksKeys, JwksUnavailableError } from './jwks-keys.js';
import type { Principal } from './principal.js';
import { TokenKeys } from './token-keys.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Longest bearer token looked at; a longer one is refused unparsed (an IdP token with many groups is a few KiB). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** The request a token came with: its URL decides which doors a server-scoped audience allows. */
export interface TokenRequest {
  url?: string;
}

/**
 * The one way a bearer token is verified, on the tunnel upgrade and on every HTTP request alike:
 * jose's jwtVerify with the allowed algorithms (JWT_ALGORITHMS), the key TokenKeys picks for the
 * token's `alg` (the HMAC secret for HS*, the identity provider's JWKS for the rest), the issuer;
 * then the audience (audience.ts) and the claims mapping (claims-mapping.ts). A token verified
 * recently is answered from the VerifiedTokenCache. The keys, the options and the cache live here
 * and nowhere else.
 */
@Injectable()
export class TokenVerifier {
  private readonly logger = new Logger('Auth');
  private readonly keys: TokenKeys;
  private readonly jwks: JwksKeys | undefined;
  private readonly verified = new VerifiedTokenCache();
  private readonly options: JWTVerifyOptions;
  private readonly audience: AudienceRules;
  private readonly issuer: string | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const { jwtSecret, jwksUrl, jwksRefreshMs, jwksCooldownMs, algorithms, jwtIssuer, audiences, resourceAudiences } = config.auth;
    // A KeyObject built once: a string key is imported again on every verify.
    const secret = jwtSecret ? createSecretKey(Buffer.from(jwtSecret, 'utf8')) : undefined;
    this.jwks = jwksUrl
      ? new JwksKeys({
          url: jwksUrl,
          refreshMs: jwksRefreshMs,
          cooldownMs: jwksCooldownMs,
          // A verification cached with a key that is gone must not outlive it.
          onKeysRemoved: () => this.verified.clear(),
          onFetchFailed: (err) => this.logger.warn(`JWKS fetch failed, keeping the keys fetched before: ${describe(err)}`),
        })
      : undefined;
    this.keys = new TokenKeys(secret, this.jwks);
    this.options = { algorithms: [...algorithms] };
    this.issuer = jwtIssuer;
    this.audience = { audiences, resourceBase: resourceAudiences ? config.publicUrl : undefined };
  }

  /** Whether any token can be verified (JWT_SECRET or JWT_JWKS_URL is set). */
  get configured(): boolean {
    return this.config.auth.jwtSecret !== undefined || this.jwks !== undefined;
  }

  /** The principal of a token verified moments ago for a door its audience allows, without verifying it again (a map lookup). */
  recentlyVerified(token: string, req: TokenRequest = {}): Principal | undefined {
    const entry = this.verified.entry(token);
    return entry !== undefined && scopeAllows(entry.scope, req.url) ? entry.principal : undefined;
  }

  /** The principal of `token`, presented by `req`; rejects with AuthError (its message is safe to show the peer). */
  async verify(req: TokenRequest, token: string): Promise<Principal> {
    if (!this.configured) throw new AuthError(AuthMessage.NotConfigured);
    if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('Invalid token');
    const recent = this.recentlyVerified(token, req);
    if (recent) return recent;
    let result;
    try {
      result = await jwtVerify(token, this.keys.keyFor, this.options);
    } catch (err) {
      throw refusal(err, this.logger);
    }
    const { payload, protectedHeader } = result;
    const hmac = TokenKeys.isHmac(protectedHeader.alg);
    // An identity provider's token must expire; a gateway-minted HMAC token may be long-lived (npm run token --exp).
    if (!hmac && typeof payload.exp !== 'number') throw new AuthError('Invalid token');
    // With a JWKS, JWT_ISSUER is the identity provider's: HMAC tokens are the gateway's own and are held to it only without one.
    if (this.issuer !== undefined && (!hmac || this.jwks === undefined) && payload.iss !== this.issuer) {
      throw new AuthError('Invalid token');
    }
    const principal = principalFromClaims(payload, this.config.auth.claims);
    // PUBLIC_URL-derived audiences name the identity provider's tokens; HMAC tokens are the gateway's own.
    const scope = hmac && this.config.auth.resourceAudiences ? 'all' : audienceScope(payload.aud, this.audience);
    if (!scopeAllows(scope, req.url)) throw new AuthError('Token audience not accepted');
    this.verified.set(token, principal, payload.exp, { scope, notAfter: hmac ? undefined : this.jwks?.freshUntil });
    return principal;
  }
}

/** A jose failure as the AuthError the peer sees: expired, or invalid; the reason itself is only logged (debug). */
function refusal(err: unknown, logger: Logger): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof JwksUnavailableError) return AuthError.unavailable();
  if (err instanceof errors.JWTExpired) return new AuthError('Token expired');
  logger.debug(`token refused: ${describe(err)}`);
  return new AuthError('Invalid token');
}

/** An error's code and message, for the log (never the token). */
function describe(err: unknown): string {
  if (err instanceof errors.JOSEError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
