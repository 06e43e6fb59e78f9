import { ONLY_OWNER, type ShareRules } from '../protocol/share.js';

/** Who is calling: the result of authentication, shared by the tunnel upgrade and HTTP routes. */
export interface Principal {
  /** Owner key: the token's `sub`, else its `email`, or the trusted proxy user; null when anonymous. */
  user: string | null;
  /** `is_admin` claim at top level or under `user`. */
  isAdmin: boolean;
  /** How the caller was authenticated. */
  via: 'jwt' | 'proxy' | 'anonymous';
  /** Groups the identity provider puts the caller in (the configured groups claim); none when absent. */
  groups?: readonly string[];
  /** When the caller's token expires (ms since the epoch, from `exp`); absent for tokens without `exp` and non-JWT callers. */
  expiresAt?: number;
}

export const ANONYMOUS: Principal = Object.freeze({ user: null, isAdmin: false, via: 'anonymous' as const });

/** What a caller is to a tunnelled server: its owner, an admin, a user it is shared with; undefined: none of these. */
export type Role = 'owner' | 'admin' | 'user';

/**
 * The one access rule: the owner and admins always; a user the rules name, a member of a group they
 * name, or (`everyone`) any authenticated caller, as a user. A session opened without auth (owner
 * null) is open to all, as its owner. Anonymous callers are never named by rules.
 */
export function roleOf(principal: Principal, owner: string | null, rules: Readonly<ShareRules> = ONLY_OWNER): Role | undefined {
  if (owner === null) return principal.isAdmin ? 'admin' : 'owner';
  if (principal.user !== null && principal.user === owner) return 'owner';
  if (principal.isAdmin) return 'admin';
  if (principal.user === null) return undefined;
  if (rules.everyone || rules.users.includes(principal.user)) return 'user';
  return principal.groups?.some((group) => rules.groups.includes(group)) ? 'user' : undefined;
}

/** Whether the caller has any role on a server with these rules (roleOf); without rules: owner or admin only. */
export function canAccess(principal: Principal, owner: string | null, rules?: Readonly<ShareRules>): boolean {
  return roleOf(principal, owner, rules) !== undefined;
}
