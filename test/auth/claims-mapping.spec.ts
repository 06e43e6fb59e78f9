import { AuthError } from '../../src/auth/auth-error.js';
import { readClaim } from '../../src/auth/claim-path.js';
import { CLAIM_LIMITS, principalFromClaims } from '../../src/auth/claims-mapping.js';
import { loadConfig, type ClaimsConfig } from '../../src/config/app-config.js';

const defaults = loadConfig({ JWT_SECRET: 'unit-test-secret-0123456789' }).auth.claims;
const mapping = (env: Record<string, string>): ClaimsConfig =>
  loadConfig({ JWT_SECRET: 'unit-test-secret-0123456789', ...env }).auth.claims;
const refused =
  (claims: Record<string, unknown>, config = defaults) =>
  () =>
    principalFromClaims(claims, config);

describe('readClaim', () => {
  test.each([
    [{ sub: 'a' }, 'sub', 'a'],
    [{ realm_access: { roles: ['x'] } }, 'realm_access.roles', ['x']],
    [{ 'https://example.com/roles': ['r'] }, 'https://example.com/roles', ['r']],
    [{ 'a.b': 1, a: { b: 2 } }, 'a.b', 1],
    [{ 'a.b': { c: 3 } }, 'a.b.c', 3],
    [{ a: { b: 'not an object' } }, 'a.b.c', undefined],
    [{}, '__proto__', undefined],
    [{}, 'constructor.name', undefined],
    [{ a: [{ b: 1 }] }, 'a.0.b', undefined],
  ])('%j at %s is %j', (claims, path, value) => {
    expect(readClaim(claims, path)).toEqual(value);
  });

  test('descends no deeper than MAX_CLAIM_PATH_DEPTH', () => {
    let deep: Record<string, unknown> = { v: 'found' };
    for (let i = 0; i < 9; i++) deep = { k: deep };
    expect(readClaim(deep, `${'k.'.repeat(9)}v`)).toBeUndefined();
    expect(readClaim(deep, `${'k.'.repeat(7)}k`)).toBeDefined();
  });
});

describe('principalFromClaims', () => {
  test('defaults: sub, else email; is_admin at top level or under user; groups; exp', () => {
    expect(principalFromClaims({ sub: 'u1', email: 'e@x', groups: ['a', 'b', 'a'], exp: 2000 }, defaults)).toEqual({
      user: 'u1',
      isAdmin: false,
      via: 'jwt',
      groups: ['a', 'b'],
      expiresAt: 2_000_000,
    });
    expect(principalFromClaims({ email: 'e@x', user: { is_admin: true } }, defaults)).toEqual({ user: 'e@x', isAdmin: true, via: 'jwt' });
    expect(principalFromClaims({ sub: 'u', is_admin: 'true' }, defaults).isAdmin).toBe(false);
  });

  test('Keycloak: preferred_username, a realm role makes the admin, groups', () => {
    const keycloak = mapping({
      JWT_USER_CLAIMS: 'preferred_username,sub',
      JWT_ROLES_CLAIM: 'realm_access.roles',
      JWT_ADMIN_ROLE: 'gateway-admin',
    });
    const claims = {
      sub: 'f:1',
      preferred_username: 'alice',
      realm_access: { roles: ['offline_access', 'gateway-admin'] },
      groups: ['/eng'],
    };
    expect(principalFromClaims(claims, keycloak)).toEqual({ user: 'alice', isAdmin: true, via: 'jwt', groups: ['/eng'] });
    expect(principalFromClaims({ ...claims, realm_access: { roles: ['user'] } }, keycloak).isAdmin).toBe(false);
  });

  test('Entra ID: oid as the user, an app role, groups as ids', () => {
    const entra = mapping({ JWT_USER_CLAIMS: 'oid', JWT_ADMIN_ROLE: 'Gateway.Admin', JWT_ADMIN_CLAIMS: 'none_such' });
    const claims = { oid: '00000000-1', roles: ['Gateway.Admin'], groups: ['g-1'], is_admin: true };
    expect(principalFromClaims(claims, entra)).toEqual({ user: '00000000-1', isAdmin: true, via: 'jwt', groups: ['g-1'] });
    expect(principalFromClaims({ ...claims, roles: [] }, entra).isAdmin).toBe(false);
  });

  test('Auth0: namespaced claims with dots and slashes in the key', () => {
    const auth0 = mapping({
      JWT_ROLES_CLAIM: 'https://gw.example.com/roles',
      JWT_ADMIN_ROLE: 'admin',
      JWT_GROUPS_CLAIM: 'https://gw.example.com/groups',
    });
    const claims = { sub: 'auth0|1', 'https://gw.example.com/roles': ['admin'], 'https://gw.example.com/groups': 'ops' };
    expect(principalFromClaims(claims, auth0)).toEqual({ user: 'auth0|1', isAdmin: true, via: 'jwt', groups: ['ops'] });
  });

  test('a role names no admin while JWT_ADMIN_ROLE is unset, whatever the roles claim holds', () => {
    expect(principalFromClaims({ sub: 'u', roles: { not: 'a list' } }, defaults).isAdmin).toBe(false);
  });

  test('no user claim: refused, naming the claims', () => {
    expect(refused({ name: 'x' })).toThrow(new AuthError('Token has neither sub nor email'));
    expect(refused({ sub: '' })).toThrow(new AuthError('Token has neither sub nor email'));
    expect(refused({ sub: 'u' }, mapping({ JWT_USER_CLAIMS: 'oid' }))).toThrow(new AuthError('Token has no oid claim'));
  });

  test.each([
    ['a user claim over the limit', { sub: 'u'.repeat(CLAIM_LIMITS.userLength + 1) }],
    ['too many groups', { sub: 'u', groups: Array.from({ length: CLAIM_LIMITS.listEntries + 1 }, (_, i) => `g${i}`) }],
    ['a group over the limit', { sub: 'u', groups: ['g'.repeat(CLAIM_LIMITS.entryLength + 1)] }],
    ['a group that is not a string', { sub: 'u', groups: [{ id: 1 }] }],
    ['groups that are an object', { sub: 'u', groups: { a: 1 } }],
  ])('%s: refused', (_what, claims) => {
    expect(refused(claims)).toThrow(new AuthError('Invalid token'));
  });

  test('up to the limits: read', () => {
    const groups = Array.from({ length: CLAIM_LIMITS.listEntries }, (_, i) => `${i}`.padEnd(CLAIM_LIMITS.entryLength, 'g'));
    expect(principalFromClaims({ sub: 'u'.repeat(CLAIM_LIMITS.userLength), groups }, defaults).groups).toHaveLength(
      CLAIM_LIMITS.listEntries,
    );
  });
});
