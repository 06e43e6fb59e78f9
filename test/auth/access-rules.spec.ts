import { AccessAudit } from '../../src/auth/access-audit.js';
import { AccessRules, AccessRulesError, roleAllows } from '../../src/auth/access-rules.js';
import { ANONYMOUS, canAccess, roleOf, type Principal } from '../../src/auth/principal.js';
import { formatShare, parseShareRules, parseShareText, SHARE_LIMITS } from '../../src/protocol/share.js';

const OWNER = 'alice@example.com';
const alice: Principal = { user: OWNER, isAdmin: false, via: 'jwt' };
const bob: Principal = { user: 'bob@example.com', isAdmin: false, via: 'jwt' };
const carol: Principal = { user: 'carol@example.com', isAdmin: false, via: 'jwt', groups: ['eng', 'ops'] };
const dave: Principal = { user: 'dave@example.com', isAdmin: false, via: 'jwt', groups: ['sales'] };
const admin: Principal = { user: 'root@example.com', isAdmin: true, via: 'jwt' };

describe('the --share syntax', () => {
  test('users, groups and everyone, with spaces around entries ignored and duplicates dropped', () => {
    expect(parseShareText(' bob@example.com, group:eng ,bob@example.com,,group:ops')).toEqual({
      ok: true,
      value: { users: ['bob@example.com'], groups: ['eng', 'ops'], everyone: false },
    });
    for (const word of ['*', 'everyone', 'Everyone']) {
      expect(parseShareText(word)).toEqual({ ok: true, value: { users: [], groups: [], everyone: true } });
    }
    expect(parseShareText(['bob@example.com', 'group:eng,*'])).toEqual({
      ok: true,
      value: { users: ['bob@example.com'], groups: ['eng'], everyone: true },
    });
  });

  test('an empty string shares with nobody; the text form goes back and forth', () => {
    expect(parseShareText('')).toEqual({ ok: true, value: { users: [], groups: [], everyone: false } });
    const rules = AccessRules.parse('*,bob@example.com,group:eng');
    expect(rules.toString()).toBe('*,bob@example.com,group:eng');
    expect(AccessRules.parse(rules.toString()).toJSON()).toEqual(rules.toJSON());
    expect(formatShare({ users: [], groups: [], everyone: false })).toBe('');
  });

  test('an empty group name is refused', () => {
    expect(parseShareText('group:')).toEqual({ ok: false, error: 'groups[0] must be 1 to 256 characters' });
  });
});

describe('rules as data (register.share, the REST body)', () => {
  test('missing lists are empty, everyone defaults to false', () => {
    expect(parseShareRules({})).toEqual({ ok: true, value: { users: [], groups: [], everyone: false } });
  });

  test.each([
    [null, 'share must be an object {users, groups, everyone}'],
    [[], 'share must be an object {users, groups, everyone}'],
    [{ users: 'bob' }, 'users must be a list of strings'],
    [{ users: [1] }, 'users[0] must be a string'],
    [{ groups: [''] }, 'groups[0] must be 1 to 256 characters'],
    [{ users: ['a,b'] }, 'users[0] must not hold commas or control characters'],
    [{ users: ['bob\n'] }, 'users[0] must not hold commas or control characters'],
    [{ users: [' bob'] }, 'users[0] must not start or end with spaces'],
    [{ everyone: 'yes' }, 'everyone must be true or false'],
  ])('%j is refused: %s', (raw, error) => {
    expect(parseShareRules(raw)).toEqual({ ok: false, error });
  });

  test('bounds: entries per list and characters per entry', () => {
    const many = Array.from({ length: SHARE_LIMITS.users + 1 }, (_, i) => `u${i}`);
    expect(parseShareRules({ users: many })).toEqual({ ok: false, error: 'users may name at most 100 entries' });
    expect(parseShareRules({ users: many.slice(0, SHARE_LIMITS.users) }).ok).toBe(true);
    expect(parseShareRules({ groups: Array(SHARE_LIMITS.groups + 1).fill('g') })).toEqual({
      ok: false,
      error: 'groups may name at most 100 entries',
    });
    expect(parseShareRules({ users: ['x'.repeat(SHARE_LIMITS.entry)] }).ok).toBe(true);
    expect(parseShareRules({ users: ['x'.repeat(SHARE_LIMITS.entry + 1)] }).ok).toBe(false);
  });

  test('AccessRules.from throws AccessRulesError naming the problem, and its value cannot be changed from outside', () => {
    expect(() => AccessRules.from({ users: [1] })).toThrow(new AccessRulesError('users[0] must be a string'));
    const data = { users: ['bob@example.com'], groups: [], everyone: false };
    const rules = AccessRules.from(data);
    data.users.push('mallory@example.com');
    rules.toJSON().users.push('mallory@example.com');
    expect(rules.toJSON().users).toEqual(['bob@example.com']);
  });
});

describe('roles', () => {
  const table: [string, string, ReturnType<typeof roleOf>, AccessRules, Principal][] = [
    ['only me', 'alice', 'owner', AccessRules.ONLY_OWNER, alice],
    ['only me', 'bob', undefined, AccessRules.ONLY_OWNER, bob],
    ['only me', 'carol', undefined, AccessRules.ONLY_OWNER, carol],
    ['only me', 'admin', 'admin', AccessRules.ONLY_OWNER, admin],
    ['named user', 'bob', 'user', AccessRules.parse('bob@example.com'), bob],
    ['named user', 'carol', undefined, AccessRules.parse('bob@example.com'), carol],
    ['group', 'carol', 'user', AccessRules.parse('group:eng'), carol],
    ['group', 'dave', undefined, AccessRules.parse('group:eng'), dave],
    ['group', 'bob', undefined, AccessRules.parse('group:eng'), bob],
    ['everyone', 'dave', 'user', AccessRules.parse('*'), dave],
    ['everyone', 'alice', 'owner', AccessRules.parse('*'), alice],
    ['everyone', 'admin', 'admin', AccessRules.parse('*'), admin],
    ['everyone', 'anonymous', undefined, AccessRules.parse('*'), ANONYMOUS],
  ];
  test.each(table)('%s; caller %s -> %s', (_rules, _who, role, rules, principal) => {
    expect(rules.roleOf(principal, OWNER)).toBe(role);
  });

  test('an owner who is also an admin is the owner; names are matched exactly', () => {
    expect(AccessRules.ONLY_OWNER.roleOf({ ...alice, isAdmin: true }, OWNER)).toBe('owner');
    expect(AccessRules.parse('Bob@example.com').roleOf(bob, OWNER)).toBeUndefined();
    expect(AccessRules.parse('group:Eng').roleOf(carol, OWNER)).toBeUndefined();
  });

  test('a session opened without auth is open to everyone, as before sharing', () => {
    for (const who of [alice, bob, ANONYMOUS]) expect(AccessRules.ONLY_OWNER.roleOf(who, null)).toBe('owner');
    expect(AccessRules.ONLY_OWNER.roleOf(admin, null)).toBe('admin');
  });

  test('using needs a role; managing needs the owner or an admin', () => {
    expect([roleAllows('owner', 'manage'), roleAllows('admin', 'manage'), roleAllows('user', 'manage')]).toEqual([true, true, false]);
    expect([roleAllows('user', 'use'), roleAllows(undefined, 'use')]).toEqual([true, false]);
    expect(AccessRules.parse('group:eng').allows(carol, OWNER, 'use')).toBe(true);
    expect(AccessRules.parse('group:eng').allows(carol, OWNER, 'manage')).toBe(false);
  });

  test('canAccess without rules keeps the old rule (owner or admin), and follows rules when given', () => {
    expect([canAccess(alice, OWNER), canAccess(admin, OWNER), canAccess(bob, OWNER), canAccess(bob, null)]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect(canAccess(bob, OWNER, AccessRules.parse('bob@example.com').toJSON())).toBe(true);
  });
});

describe('the audit', () => {
  test('one line per event, with who, what and when, never more', () => {
    const lines: unknown[] = [];
    const audit = new AccessAudit({ log: (line: unknown) => lines.push(line) }, () => Date.UTC(2026, 0, 2, 3, 4, 5));
    audit.rulesChanged(OWNER, { session: 's1', server: 'git' }, AccessRules.parse('group:eng').toJSON(), 'rest');
    audit.useRefused(dave, { session: 's1', server: 'git' }, 'mcp');
    audit.useRefused(ANONYMOUS, { session: 's1', server: 'git' }, 'rest');
    expect(lines).toEqual([
      {
        msg: 'access rules changed',
        by: OWNER,
        session: 's1',
        server: 'git',
        rules: { users: [], groups: ['eng'], everyone: false },
        via: 'rest',
        at: '2026-01-02T03:04:05.000Z',
      },
      { msg: 'use refused', who: 'dave@example.com', session: 's1', server: 'git', door: 'mcp', at: '2026-01-02T03:04:05.000Z' },
      { msg: 'use refused', who: 'anonymous', session: 's1', server: 'git', door: 'rest', at: '2026-01-02T03:04:05.000Z' },
    ]);
  });
});
