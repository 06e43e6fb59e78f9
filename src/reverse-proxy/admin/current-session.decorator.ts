import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { SESSION_KEY } from './ownership.guard.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** The session OwnershipGuard resolved from `:id`. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionHandle => ctx.switchToHttp().getRequest<Record<string, SessionHandle>>()[SESSION_KEY],
);
