import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, NotFoundException, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessAudit, type AuditDoor } from '../../auth/access-audit.js';
import { roleAllows, type AccessLevel } from '../../auth/access-rules.js';
import type { Principal, Role } from '../../auth/principal.js';
import { SessionRegistry } from '../tunnel/session-registry.js';
import { sessionRole } from '../tunnel/session-access.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** Request field the guard puts the resolved session in, for @CurrentSession(). */
export const SESSION_KEY = 'tunnelSession';
/** Request field the guard puts the caller's role on that session in, for @CurrentRole(). */
export const ROLE_KEY = 'tunnelSessionRole';

/** What a route needs on its session, and the door an audit line names when it is refused. */
interface SessionAccessNeed {
  level: AccessLevel;
  door: AuditDoor;
}
const SESSION_ACCESS = 'reverse-proxy:session-access';

/** Marks what a per-session route needs: `use` (the owner, admins and users the rules name) or `manage` (the owner and admins). */
export const SessionAccess = (level: AccessLevel, door: AuditDoor): MethodDecorator =>
  SetMetadata(SESSION_ACCESS, { level, door } satisfies SessionAccessNeed);

/**
 * Resolves `:id` to a session and lets the caller through when its role on it (sessionRole: owner,
 * admin, or a user the access rules name) is enough for the route (@SessionAccess; a route without
 * it needs `manage`). A refusal is a 403, as before sharing, and an audit line. Runs after JwtAuthGuard.
 */
@Injectable()
export class OwnershipGuard implements CanActivate {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly reflector: Reflector,
    private readonly audit: AccessAudit,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{
      params: { id?: string };
      user: Principal;
      [SESSION_KEY]?: SessionHandle;
      [ROLE_KEY]?: Role;
    }>();
    const need = this.reflector.get<SessionAccessNeed | undefined>(SESSION_ACCESS, context.getHandler()) ?? {
      level: 'manage',
      door: 'rest',
    };
    const id = req.params.id ?? '';
    const session = this.registry.get(id);
    if (!session) throw new NotFoundException(`Session ${id.slice(0, 64)} not found`);
    const role = sessionRole(session, req.user);
    if (!roleAllows(role, need.level)) {
      this.audit.useRefused(req.user, { session: session.id, server: session.name }, need.door);
      throw new ForbiddenException('Not authorized for this session');
    }
    req[SESSION_KEY] = session;
    req[ROLE_KEY] = role;
    return true;
  }
}
