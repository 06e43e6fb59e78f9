/**
 * Who besides its owner may use a tunnelled server: named users, groups, or every authenticated
 * user. The wire shape (`register.share`, the REST access rules) and the `--share` syntax
 * (`alice@example.com,group:eng`, `*` or `everyone`), parsed and bounded the same way for the
 * tunnel client and the gateway. Pure: no Nest, no I/O.
 */
import { isObject } from './json-rpc.js';

/** The rules as data: users by owner key (token `sub`, else `email`), groups by name (the groups claim). */
export interface ShareRules {
  users: string[];
  groups: string[];
  everyone: boolean;
}

/** Bounds on a rule set: it rides on every register frame and directory record, so it stays small. */
export const SHARE_LIMITS = {
  /** Named users. */
  users: 100,
  /** Named groups. */
  groups: 100,
  /** Characters of one user or group name (an e-mail address is at most 254). */
  entry: 256,
} as const;

/** `--share` words that mean every authenticated user. */
const EVERYONE_WORDS = new Set(['*', 'everyone']);
const GROUP_PREFIX = 'group:';
/** Control characters and separators: never part of a name, and kept out of logs. */
// eslint-disable-next-line no-control-regex -- the point is to match control characters
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f,]/;

/** Only the owner (and admins): what a tunnel gets when it asks for nothing. */
export const ONLY_OWNER: Readonly<ShareRules> = Object.freeze({ users: [], groups: [], everyone: false });

export type ShareResult = { ok: true; value: ShareRules } | { ok: false; error: string };

const fail = (error: string): ShareResult => ({ ok: false, error });

/** A user or group name: a non-empty string, bounded, without control characters or commas. */
function checkEntry(value: unknown, what: string): string | undefined {
  if (typeof value !== 'string') return `${what} must be a string`;
  if (value.length === 0 || value.length > SHARE_LIMITS.entry) return `${what} must be 1 to ${SHARE_LIMITS.entry} characters`;
  if (FORBIDDEN_CHARACTERS.test(value)) return `${what} must not hold commas or control characters`;
  if (value.trim() !== value) return `${what} must not start or end with spaces`;
  return undefined;
}

/** A bounded list of distinct names (duplicates dropped, order kept). */
function checkList(value: unknown, key: 'users' | 'groups'): { list: string[] } | { error: string } {
  if (value === undefined || value === null) return { list: [] };
  if (!Array.isArray(value)) return { error: `${key} must be a list of strings` };
  // Bounded before anything walks it: a peer's list may be long.
  if (value.length > SHARE_LIMITS[key]) return { error: `${key} may name at most ${SHARE_LIMITS[key]} entries` };
  const list = [...new Set(value as unknown[])];
  for (const [i, entry] of list.entries()) {
    const problem = checkEntry(entry, `${key}[${i}]`);
    if (problem) return { error: problem };
  }
  return { list: list as string[] };
}

/** Validates rules received as data (`register.share`, a REST body): known fields only, bounded. */
export function parseShareRules(raw: unknown): ShareResult {
  if (!isObject(raw)) return fail('share must be an object {users, groups, everyone}');
  const users = checkList(raw.users, 'users');
  if ('error' in users) return fail(users.error);
  const groups = checkList(raw.groups, 'groups');
  if ('error' in groups) return fail(groups.error);
  const everyone = raw.everyone ?? false;
  if (typeof everyone !== 'boolean') return fail('everyone must be true or false');
  return { ok: true, value: { users: users.list, groups: groups.list, everyone } };
}

/**
 * Parses the `--share` syntax: comma-separated entries, each a user (`alice@example.com`), a group
 * (`group:eng`) or every authenticated user (`*`, `everyone`). Spaces around entries are ignored;
 * an empty string shares with nobody. A list (a config file's `share:`) is taken entry by entry.
 */
export function parseShareText(text: string | readonly string[]): ShareResult {
  const entries = (typeof text === 'string' ? text.split(',') : text.flatMap((part) => part.split(',')))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const rules = { users: [] as string[], groups: [] as string[], everyone: false };
  for (const entry of entries) {
    if (EVERYONE_WORDS.has(entry.toLowerCase())) rules.everyone = true;
    else if (entry.toLowerCase().startsWith(GROUP_PREFIX)) rules.groups.push(entry.slice(GROUP_PREFIX.length).trim());
    else rules.users.push(entry);
  }
  return parseShareRules(rules);
}

/** The rules in the `--share` syntax, e.g. for a log line or the client's banner; '' for only the owner. */
export function formatShare(rules: ShareRules): string {
  return [...(rules.everyone ? ['*'] : []), ...rules.users, ...rules.groups.map((g) => `${GROUP_PREFIX}${g}`)].join(',');
}

/** Whether the rules share with nobody (only the owner and admins). */
export function sharesWithNobody(rules: ShareRules): boolean {
  return !rules.everyone && rules.users.length === 0 && rules.groups.length === 0;
}
