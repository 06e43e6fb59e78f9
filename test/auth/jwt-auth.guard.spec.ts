import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { JwtAuthGuard } from '../../src/auth/jwt-auth.guard.js';
import type { Principal } from '../../src/auth/principal.js';
import { setRequestPrincipal } from '../../src/auth/request-principal.js';

const contextOf = (req: object) => ({ switchToHttp: () => ({ getRequest: () => req }) }) as unknown as ExecutionContext;

test('hands the principal the auth hook stored to the route, without verifying anything again', () => {
  const raw = {} as IncomingMessage;
  const alice: Principal = { user: 'alice', isAdmin: false, via: 'jwt' };
  setRequestPrincipal(raw, alice);
  const req: { raw: IncomingMessage; user?: Principal } = { raw };
  expect(new JwtAuthGuard().canActivate(contextOf(req))).toBe(true);
  expect(req.user).toBe(alice);
});

test('fails closed when the hook did not authenticate the request', () => {
  expect(() => new JwtAuthGuard().canActivate(contextOf({ raw: {} }))).toThrow(new UnauthorizedException('Authentication required'));
  expect(() => new JwtAuthGuard().canActivate(contextOf({}))).toThrow(UnauthorizedException);
});

test('a user property set by anyone else is not trusted', () => {
  const req = { raw: {}, user: { user: 'mallory', isAdmin: true, via: 'jwt' } };
  expect(() => new JwtAuthGuard().canActivate(contextOf(req))).toThrow(UnauthorizedException);
});
