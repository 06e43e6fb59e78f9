import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { canAccess, type Principal } from '../../auth/principal.js';
import { SessionRegistry } from '../tunnel/session-registry.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** Request field the guard puts the resolved session in, for @CurrentSession(). */
export const SESSION_KEY = 'tunnelSession';

/**
 * Resolves `:id` to a session and lets only its owner or an admin through (anonymous sessions are
 * open to all). Runs after JwtAuthGuard.
 */
@Injectable()
export class OwnershipGuard implements CanActivate {
  constructor(private readonly registry: SessionRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{
      params: { id?: string };
      user: Principal;
      [SESSION_KEY]?: SessionHandle;
    }>();
    const id = req.params.id ?? '';
    const session = this.registry.get(id);
    if (!session) throw new NotFoundException(`Session ${id.slice(0, 64)} not found`);
    if (!canAccess(req.user, session.owner)) throw new ForbiddenException('Not authorized for this session');
    req[SESSION_KEY] = session;
    return true;
  }
}
