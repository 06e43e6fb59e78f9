import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { SESSION_KEY } from './ownership.guard.js';
import type { TunnelSession } from './tunnel-session.js';

/** The session OwnershipGuard resolved from `:id`. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): TunnelSession => ctx.switchToHttp().getRequest<Record<string, TunnelSession>>()[SESSION_KEY],
);
