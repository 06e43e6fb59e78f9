/** Who is calling: the result of authentication, shared by the tunnel upgrade and HTTP routes. */
export interface Principal {
  /** Owner key: the token's `sub`, else its `email`, or the trusted proxy user; null when anonymous. */
  user: string | null;
  /** `is_admin` claim at top level or under `user`. */
  isAdmin: boolean;
  /** How the caller was authenticated. */
  via: 'jwt' | 'proxy' | 'anonymous';
}

export const ANONYMOUS: Principal = Object.freeze({ user: null, isAdmin: false, via: 'anonymous' as const });

/** Owner or admin may act; sessions opened without auth are open to all. */
export function canAccess(principal: Principal, owner: string | null): boolean {
  if (owner === null) return true;
  if (principal.isAdmin) return true;
  return principal.user !== null && principal.user === owner;
}
