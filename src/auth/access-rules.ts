import { formatShare, ONLY_OWNER, parseShareRules, parseShareText, type ShareRules } from '../protocol/share.js';
import { roleOf, type Principal, type Role } from './principal.js';

/** What a role may do with a server: use it (MCP doors, REST requests), or also manage it (rules, disconnect, event stream). */
export type AccessLevel = 'use' | 'manage';

/** Whether `role` is enough for `level`: any role uses; only the owner and admins manage. */
export function roleAllows(role: Role | undefined, level: AccessLevel): boolean {
  if (role === undefined) return false;
  return level === 'use' || role === 'owner' || role === 'admin';
}

/**
 * Who besides its owner may use a server (src/protocol/share.ts has the shape and the syntax): an
 * immutable, validated value. A session replaces its rules with a new value; it never edits one.
 */
export class AccessRules {
  /** Only the owner and admins: the default, and what older clients get. */
  static readonly ONLY_OWNER = new AccessRules(ONLY_OWNER);

  private readonly value: Readonly<ShareRules>;

  private constructor(rules: ShareRules) {
    this.value = Object.freeze({ users: [...rules.users], groups: [...rules.groups], everyone: rules.everyone });
  }

  /** Rules from data (`register.share`, a REST body), validated and bounded; throws AccessRulesError naming the problem. */
  static from(raw: unknown): AccessRules {
    const parsed = parseShareRules(raw);
    if (!parsed.ok) throw new AccessRulesError(parsed.error);
    return new AccessRules(parsed.value);
  }

  /** Rules from the `--share` syntax (`alice@example.com,group:eng`, `*`); throws AccessRulesError. */
  static parse(text: string | readonly string[]): AccessRules {
    const parsed = parseShareText(text);
    if (!parsed.ok) throw new AccessRulesError(parsed.error);
    return new AccessRules(parsed.value);
  }

  /** The caller's role on a server of `owner` under these rules (principal.ts, roleOf). */
  roleOf(principal: Principal, owner: string | null): Role | undefined {
    return roleOf(principal, owner, this.value);
  }

  /** Whether the caller may do `level` on a server of `owner`. */
  allows(principal: Principal, owner: string | null, level: AccessLevel): boolean {
    return roleAllows(this.roleOf(principal, owner), level);
  }

  /** A copy of the rules as data (REST answers, log lines). */
  toJSON(): ShareRules {
    return { users: [...this.value.users], groups: [...this.value.groups], everyone: this.value.everyone };
  }

  /** The rules in the `--share` syntax; '' for only the owner. */
  toString(): string {
    return formatShare(this.value);
  }
}

/** Rules that are not valid; the message names the problem and is safe to show the sender. */
export class AccessRulesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessRulesError';
  }
}
