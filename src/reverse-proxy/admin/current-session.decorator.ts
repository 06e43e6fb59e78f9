import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from '../../auth/principal.js';
import { ROLE_KEY, SESSION_KEY } from './ownership.guard.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** The session OwnershipGuard resolved from `:id`. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionHandle => ctx.switchToHttp().getRequest<Record<string, SessionHandle>>()[SESSION_KEY],
);

/** The caller's role on that session, as OwnershipGuard decided it. */
export const CurrentRole = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Role => ctx.switchToHttp().getRequest<Record<string, Role>>()[ROLE_KEY],
);
