import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { TrustedProxies } from './trusted-proxies.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Why authentication failed; the message is safe to show to the peer. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The parts of an HTTP or upgrade request that carry credentials. */
export interface CredentialSource {
  headers: IncomingHttpHeaders;
  url?: string;
  /** The TCP connection: its peer address decides whether the proxy user header is believed. */
  socket?: { remoteAddress?: string };
}

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * Token verification and credential extraction, used by both the WebSocket upgrade and the
 * HTTP AuthGuard so the two doors apply exactly the same rules.
 */
@Injectable()
export class AuthService {
  private readonly key: KeyObject | undefined;
  private readonly verified = new VerifiedTokenCache();
  private readonly trustedProxies: TrustedProxies;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtService,
  ) {
    const secret = config.auth.jwtSecret;
    this.key = secret ? createSecretKey(Buffer.from(secret, 'utf8')) : undefined;
    this.trustedProxies = new TrustedProxies(config.auth.trustedProxies);
  }

  get required(): boolean {
    return this.config.auth.required;
  }

  /** Options for jsonwebtoken's verify; passport-jwt is given the same ones. */
  get verifyOptions() {
    const { jwtAlgorithm, jwtIssuer, jwtAudience } = this.config.auth;
    return {
      algorithms: [jwtAlgorithm],
      ...(jwtIssuer ? { issuer: jwtIssuer } : {}),
      ...(jwtAudience ? { audience: jwtAudience } : {}),
    };
  }

  /**
   * The HMAC key, built once: given a string, jsonwebtoken first tries it as a public key on every
   * verify, which costs about half a millisecond of CPU per request.
   */
  get secret(): KeyObject | undefined {
    return this.key;
  }

  /** The bearer token from the Authorization header, else from `?token=` when allowed. */
  extractToken(req: CredentialSource): string | undefined {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const match = BEARER.exec(header);
      if (match) return match[1];
    }
    if (this.config.auth.allowQueryToken && req.url && req.url.includes('token=')) {
      const token = new URL(req.url, 'http://localhost').searchParams.get('token');
      if (token) return token;
    }
    return undefined;
  }

  /**
   * The user named by the trusted proxy header, when that source is enabled and the TCP peer is
   * one of TRUSTED_PROXIES: from anyone else the header is just text a client chose.
   */
  proxyUser(req: CredentialSource): string | undefined {
    const { trustProxyAuth, mcpClientAuthEnabled, proxyUserHeader } = this.config.auth;
    if (!trustProxyAuth || mcpClientAuthEnabled) return undefined;
    if (!this.trustedProxies.includes(req.socket?.remoteAddress)) return undefined;
    const value = req.headers[proxyUserHeader];
    const user = Array.isArray(value) ? value[0] : value;
    return user && user.trim() ? user.trim() : undefined;
  }

  /** The principal of a token verified moments ago (see VerifiedTokenCache), without verifying it again. */
  recentlyVerified(token: string): Principal | undefined {
    return this.verified.get(token);
  }

  /** Turns verified claims into a Principal and remembers the token until its `exp` (at most a minute). */
  acceptClaims(token: string, claims: Record<string, unknown>): Principal {
    const principal = this.principalFromClaims(claims);
    this.verified.set(token, principal, claims.exp);
    return principal;
  }

  /** Verifies a JWT and turns its claims into a Principal. */
  async verifyToken(token: string): Promise<Principal> {
    if (!this.key) throw new AuthError('Token authentication is not configured');
    const known = this.verified.get(token);
    if (known) return known;
    let claims: Record<string, unknown>;
    try {
      // @nestjs/jwt types the secret as string | Buffer; jsonwebtoken takes a KeyObject as well.
      claims = await this.jwt.verifyAsync<Record<string, unknown>>(token, { secret: this.key as unknown as Buffer, ...this.verifyOptions });
    } catch (err) {
      const name = (err as Error).name;
      throw new AuthError(name === 'TokenExpiredError' ? 'Token expired' : 'Invalid token');
    }
    return this.acceptClaims(token, claims);
  }

  /** Owner is `sub`, else `email`; admin is `is_admin` at top level or under `user`. */
  principalFromClaims(claims: Record<string, unknown>): Principal {
    const sub = typeof claims.sub === 'string' && claims.sub ? claims.sub : undefined;
    const email = typeof claims.email === 'string' && claims.email ? claims.email : undefined;
    const user = sub ?? email;
    if (!user) throw new AuthError('Token has neither sub nor email');
    const nested = claims.user;
    const nestedAdmin = typeof nested === 'object' && nested !== null && (nested as Record<string, unknown>).is_admin === true;
    return { user, isAdmin: claims.is_admin === true || nestedAdmin, via: 'jwt' };
  }

  /**
   * Applies the source order: bearer header, query token, trusted proxy header.
   * With auth off and no credentials the caller is anonymous; presented credentials are still checked.
   */
  async authenticate(req: CredentialSource): Promise<Principal> {
    const token = this.extractToken(req);
    if (token) return this.verifyToken(token);
    const proxyUser = this.proxyUser(req);
    if (proxyUser) return { user: proxyUser, isAdmin: false, via: 'proxy' };
    if (this.required) throw new AuthError('Authentication required');
    return ANONYMOUS;
  }
}
