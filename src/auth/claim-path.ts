import { isObject } from '../protocol/json-rpc.js';

/** Objects descended into while resolving one claim path: `a.b.c` is three. */
export const MAX_CLAIM_PATH_DEPTH = 8;

/**
 * The value at a claim path in a token's claims, or undefined. A path is a key, or keys joined by
 * dots (`realm_access.roles`); an exact key wins over a split, so a namespaced claim such as
 * `https://example.com/roles` (dots in the key) is found as itself. Own properties only: `__proto__`
 * or `constructor` in a path never reach an object's prototype.
 */
export function readClaim(claims: unknown, path: string, depth = 0): unknown {
  if (!isObject(claims) || depth >= MAX_CLAIM_PATH_DEPTH) return undefined;
  if (Object.hasOwn(claims, path)) return claims[path];
  for (let dot = path.indexOf('.'); dot > 0; dot = path.indexOf('.', dot + 1)) {
    const head = path.slice(0, dot);
    if (Object.hasOwn(claims, head) && isObject(claims[head])) {
      const found = readClaim(claims[head], path.slice(dot + 1), depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
