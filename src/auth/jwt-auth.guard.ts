import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Principal } from './principal.js';
import { requestPrincipal } from './request-principal.js';
import { AuthMessage } from './auth-error.js';

/**
 * HTTP authentication as seen by the routes. The credentials were already verified by the auth
 * hook (common/auth-hook.ts), before the body was read; this guard only hands the hook's principal to
 * the handler (`@CurrentPrincipal()`) and refuses when there is none, so a route the hook did
 * not cover fails closed instead of running unauthenticated.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ raw?: IncomingMessage; user?: Principal }>();
    const principal = req.raw ? requestPrincipal(req.raw) : undefined;
    if (!principal) throw new UnauthorizedException(AuthMessage.Required);
    req.user = principal;
    return true;
  }
}
