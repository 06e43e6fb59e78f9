import type { ClaimsConfig } from '../config/app-config.js';
import { AuthError } from './auth-error.js';
import { readClaim } from './claim-path.js';
import type { Principal } from './principal.js';

/** What is read from a token's claims at most: they are hostile input, however well signed. */
export const CLAIM_LIMITS = {
  /** Characters in the user claim. */
  userLength: 320,
  /** Entries in the groups or roles claim. */
  listEntries: 256,
  /** Characters in one group or role. */
  entryLength: 256,
} as const;

/**
 * Turns a verified token's claims into the request's Principal, as the claims settings say: the
 * first user claim present names the user; an admin flag that is `true`, or the admin role among the
 * roles, makes an admin; the groups claim gives the groups; `exp` gives expiresAt. A claim over
 * CLAIM_LIMITS refuses the token (rather than quietly reading part of it).
 */
export function principalFromClaims(claims: Record<string, unknown>, mapping: ClaimsConfig): Principal {
  const user = userOf(claims, mapping.user);
  const roles = mapping.adminRole === undefined ? [] : stringList(readClaim(claims, mapping.roles));
  const isAdmin =
    mapping.adminFlags.some((path) => readClaim(claims, path) === true) ||
    (mapping.adminRole !== undefined && roles.includes(mapping.adminRole));
  const groups = stringList(readClaim(claims, mapping.groups));
  const principal: Principal = { user, isAdmin, via: 'jwt' };
  if (groups.length > 0) principal.groups = Object.freeze(groups);
  if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) principal.expiresAt = claims.exp * 1000;
  return principal;
}

function userOf(claims: Record<string, unknown>, paths: readonly string[]): string {
  for (const path of paths) {
    const value = readClaim(claims, path);
    if (typeof value !== 'string' || value === '') continue;
    if (value.length > CLAIM_LIMITS.userLength) throw new AuthError('Invalid token');
    return value;
  }
  throw new AuthError(noUserMessage(paths));
}

/** "Token has neither sub nor email" for the default claims. */
function noUserMessage(paths: readonly string[]): string {
  if (paths.length === 2) return `Token has neither ${paths[0]} nor ${paths[1]}`;
  return `Token has no ${paths.join(', ')} claim`;
}

/**
 * A claim read as a list of strings: an array of strings, or one string (some providers send a
 * single group as a string). Absent gives none; anything else, or too much, refuses the token.
 */
function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > CLAIM_LIMITS.listEntries) throw new AuthError('Invalid token');
  for (const entry of list) {
    if (typeof entry !== 'string' || entry.length > CLAIM_LIMITS.entryLength) throw new AuthError('Invalid token');
  }
  return [...new Set(list as string[])];
}
