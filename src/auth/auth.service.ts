import { Inject, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AuthError, AuthMessage } from './auth-error.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { TokenVerifier } from './token-verifier.js';
import { TrustedProxies } from './trusted-proxies.js';

/** The parts of an HTTP or upgrade request that carry credentials. */
export interface CredentialSource {
  headers: IncomingHttpHeaders;
  url?: string;
  /** The TCP connection: its peer address decides whether the proxy user header is believed. */
  socket?: { remoteAddress?: string };
}

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * Who a request comes from: the one entry for both doors, the tunnel upgrade (TunnelAdmission) and
 * every HTTP request (the auth hook, before the body is read), so the two apply exactly the same
 * rules. It extracts the credentials and applies their order; a token is verified by TokenVerifier.
 */
@Injectable()
export class AuthService {
  private readonly trustedProxies: TrustedProxies;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenVerifier,
  ) {
    this.trustedProxies = new TrustedProxies(config.auth.trustedProxies);
  }

  get required(): boolean {
    return this.config.auth.required;
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

  /**
   * Applies the source order: bearer header, query token, trusted proxy header.
   * With auth off and no credentials the caller is anonymous; presented credentials are still checked.
   * Rejects with AuthError, whose message is safe to show the peer.
   */
  async authenticate(req: CredentialSource): Promise<Principal> {
    const token = this.extractToken(req);
    // A repeat token is answered here, without another promise in between: the REST door's every call.
    if (token) return this.tokens.recentlyVerified(token, req) ?? this.tokens.verify(req, token);
    const proxyUser = this.proxyUser(req);
    if (proxyUser) return { user: proxyUser, isAdmin: false, via: 'proxy' };
    if (this.required) throw new AuthError(AuthMessage.Required, false);
    return ANONYMOUS;
  }
}
