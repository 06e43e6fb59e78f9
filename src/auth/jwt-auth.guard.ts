import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { AuthError, AuthService, type CredentialSource } from './auth.service.js';
import type { Principal } from './principal.js';

/**
 * HTTP authentication. A presented token is verified by passport-jwt, unless the same token was
 * verified within the last minute (AuthService.recentlyVerified); without one, the trusted proxy
 * header or (auth off) anonymous access applies, as on the tunnel upgrade.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly auth: AuthService) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<CredentialSource & { user?: Principal }>();
    const token = this.auth.extractToken(req);
    if (token) {
      const known = this.auth.recentlyVerified(token);
      if (known) {
        req.user = known;
        return true;
      }
      return (await super.canActivate(context)) as boolean;
    }
    try {
      req.user = await this.auth.authenticate(req);
      return true;
    } catch (err) {
      throw new UnauthorizedException(err instanceof AuthError ? err.message : 'Authentication failed');
    }
  }

  override handleRequest<T = Principal>(err: unknown, user: T | false, info: unknown): T {
    if (user) return user;
    if (err instanceof AuthError) throw new UnauthorizedException(err.message);
    const name = info instanceof Error ? info.name : '';
    throw new UnauthorizedException(name === 'TokenExpiredError' ? 'Token expired' : 'Invalid token');
  }
}
