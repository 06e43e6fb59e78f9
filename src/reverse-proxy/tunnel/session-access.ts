import { AccessRules } from '../../auth/access-rules.js';
import type { Principal, Role } from '../../auth/principal.js';
import type { SessionHandle } from './tunnel-handle.js';

/**
 * The caller's role on a tunnel session, by its owner and access rules: what every door asks (REST
 * routes, the session listing, `/servers`, the MCP doors). A handle without rules (another replica's)
 * is only its owner's.
 */
export function sessionRole(session: Pick<SessionHandle, 'owner' | 'access'>, principal: Principal): Role | undefined {
  return (session.access ?? AccessRules.ONLY_OWNER).roleOf(principal, session.owner);
}
