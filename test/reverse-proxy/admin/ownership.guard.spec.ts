import { ForbiddenException, NotFoundException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessAudit } from '../../../src/auth/access-audit.js';
import { AccessRules } from '../../../src/auth/access-rules.js';
import { ANONYMOUS, type Principal } from '../../../src/auth/principal.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import { OwnershipGuard, ROLE_KEY, SessionAccess, SESSION_KEY } from '../../../src/reverse-proxy/admin/ownership.guard.js';
import { TunnelSession } from '../../../src/reverse-proxy/tunnel/tunnel-session.js';
import { FakeSocket } from '../../support/fake-socket.js';

const alice: Principal = { user: 'alice@example.com', isAdmin: false, via: 'jwt' };
const bob: Principal = { user: 'bob@example.com', isAdmin: false, via: 'jwt' };
const admin: Principal = { user: 'root@example.com', isAdmin: true, via: 'jwt' };
const proxyAlice: Principal = { user: 'alice@example.com', isAdmin: false, via: 'proxy' };

let registry: InMemorySessionRegistry;
let guard: OwnershipGuard;
let owned: TunnelSession;
let anonymous: TunnelSession;
let audited: Record<string, unknown>[];

/** Route handlers as the controller marks them: one users may reach, one only the owner and admins. */
class Routes {
  @SessionAccess('use', 'rest')
  use(): void {}
  @SessionAccess('manage', 'access')
  manage(): void {}
  unmarked(): void {}
}

function context(
  id: string | undefined,
  user: Principal,
  route: keyof Routes = 'manage',
): { ctx: ExecutionContext; req: Record<string, unknown> } {
  const req: Record<string, unknown> = { params: id === undefined ? {} : { id }, user };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- only the metadata's target
  const handler = Routes.prototype[route];
  const ctx = { switchToHttp: () => ({ getRequest: () => req }), getHandler: () => handler } as unknown as ExecutionContext;
  return { ctx, req };
}

/** The guard's verdict: 'ok' with the session it attached, or the exception it threw. */
function check(
  id: string | undefined,
  user: Principal,
  route: keyof Routes = 'manage',
): { ok: TunnelSession | undefined } | { error: unknown } {
  const { ctx, req } = context(id, user, route);
  try {
    expect(guard.canActivate(ctx)).toBe(true);
    return { ok: req[SESSION_KEY] as TunnelSession | undefined };
  } catch (error) {
    return { error };
  }
}

beforeEach(() => {
  registry = new InMemorySessionRegistry();
  audited = [];
  const audit = new AccessAudit({ log: (line: Record<string, unknown>) => audited.push(line) }, () => 0);
  guard = new OwnershipGuard(registry, new Reflector(), audit);
  owned = new TunnelSession('owned-session', 'alice@example.com', new FakeSocket(), { maxPending: 1 });
  anonymous = new TunnelSession('anon-session', null, new FakeSocket(), { maxPending: 1 });
  registry.add(owned);
  registry.add(anonymous);
});

test('the owner passes and the session is attached to the request', () => {
  expect(check('owned-session', alice)).toEqual({ ok: owned });
});

test('the owner authenticated by the proxy header passes too', () => {
  expect(check('owned-session', proxyAlice)).toEqual({ ok: owned });
});

test('another user gets 403 Not authorized for this session', () => {
  const result = check('owned-session', bob) as { error: unknown };
  expect(result.error).toBeInstanceOf(ForbiddenException);
  expect((result.error as ForbiddenException).message).toBe('Not authorized for this session');
});

test('an anonymous caller gets 403 on an owned session', () => {
  expect((check('owned-session', ANONYMOUS) as { error: unknown }).error).toBeInstanceOf(ForbiddenException);
});

test('an admin passes on any session', () => {
  expect(check('owned-session', admin)).toEqual({ ok: owned });
  expect(check('anon-session', admin)).toEqual({ ok: anonymous });
});

test('an anonymous session is open to everyone', () => {
  expect(check('anon-session', alice)).toEqual({ ok: anonymous });
  expect(check('anon-session', bob)).toEqual({ ok: anonymous });
  expect(check('anon-session', ANONYMOUS)).toEqual({ ok: anonymous });
});

test('an unknown id gets 404 Session <id> not found, before any ownership check', () => {
  for (const who of [alice, admin, ANONYMOUS]) {
    const result = check('no-such-id', who) as { error: unknown };
    expect(result.error).toBeInstanceOf(NotFoundException);
    expect((result.error as NotFoundException).message).toBe('Session no-such-id not found');
  }
});

test('a closed session is gone: 404', () => {
  owned.close('bye');
  expect((check('owned-session', alice) as { error: unknown }).error).toBeInstanceOf(NotFoundException);
});

test('a missing id is a 404 too', () => {
  expect((check(undefined, admin) as { error: unknown }).error).toBeInstanceOf(NotFoundException);
});

test('a huge id is not echoed in full', () => {
  const id = 'x'.repeat(5000);
  const message = ((check(id, admin) as { error: unknown }).error as NotFoundException).message;
  expect(message.length).toBeLessThan(200);
  expect(message).toMatch(/^Session x+ not found$/);
});

describe('shared servers', () => {
  const carol: Principal = { user: 'carol@example.com', isAdmin: false, via: 'jwt', groups: ['eng'] };

  beforeEach(() => owned.share(AccessRules.parse('bob@example.com,group:eng')));

  test('a user the rules name may use the session, and the guard records the role', () => {
    for (const who of [bob, carol]) {
      const { ctx, req } = context('owned-session', who, 'use');
      expect(guard.canActivate(ctx)).toBe(true);
      expect([req[SESSION_KEY], req[ROLE_KEY]]).toEqual([owned, 'user']);
    }
    expect(audited).toEqual([]);
  });

  test('a shared user may not manage it, nor reach a route without a mark (manage is the default): 403 and an audit line', () => {
    for (const route of ['manage', 'unmarked'] as const) {
      expect((check('owned-session', bob, route) as { error: unknown }).error).toBeInstanceOf(ForbiddenException);
    }
    expect(audited).toEqual([
      {
        msg: 'use refused',
        who: 'bob@example.com',
        session: 'owned-session',
        server: undefined,
        door: 'access',
        at: '1970-01-01T00:00:00.000Z',
      },
      {
        msg: 'use refused',
        who: 'bob@example.com',
        session: 'owned-session',
        server: undefined,
        door: 'rest',
        at: '1970-01-01T00:00:00.000Z',
      },
    ]);
  });

  test('someone the rules do not name is refused even to use it', () => {
    const dave: Principal = { user: 'dave@example.com', isAdmin: false, via: 'jwt', groups: ['sales'] };
    expect((check('owned-session', dave, 'use') as { error: unknown }).error).toBeInstanceOf(ForbiddenException);
    expect(audited).toHaveLength(1);
  });

  test('the owner and admins manage it', () => {
    expect(check('owned-session', alice, 'manage')).toEqual({ ok: owned });
    expect(check('owned-session', admin, 'manage')).toEqual({ ok: owned });
  });
});
