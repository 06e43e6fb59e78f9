/** The part of the Web Storage API the console uses (sessionStorage in the page, a map in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = 'mcp-gateway-console.token';

/** Longest token kept: a JWT of a generous identity provider fits; a pasted novel does not. */
export const MAX_TOKEN_CHARS = 16 * 1024;

/**
 * The signed-in token, in the tab's session storage only: it dies with the tab, is never shared
 * with other tabs, never written to local storage or a cookie.
 */
export class TokenStore {
  constructor(private readonly storage: KeyValueStorage) {}

  /** The stored token, or undefined. */
  get(): string | undefined {
    try {
      return this.storage.getItem(KEY) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps a token (trimmed, with a leading `Bearer ` removed); false when it is empty or too long. */
  set(raw: string): boolean {
    const token = normalizeToken(raw);
    if (token === undefined) return false;
    this.storage.setItem(KEY, token);
    return true;
  }

  /** Forgets the token (sign out). */
  clear(): void {
    this.storage.removeItem(KEY);
  }
}

/** A pasted token as the Authorization header wants it (printable ASCII, no space); undefined when it cannot be one. */
export function normalizeToken(raw: string): string | undefined {
  const token = raw.replace(/^\s*bearer(?:\s+|$)/i, '').trim();
  if (token === '' || token.length > MAX_TOKEN_CHARS || /[^\x21-\x7e]/.test(token)) return undefined;
  return token;
}
