import type { IncomingMessage } from 'node:http';
import type { Principal } from './principal.js';

/**
 * The principal the auth hook verified for each request, keyed by the Node request so nothing a
 * peer sends (a header, a body field) can stand in for it.
 */
const principals = new WeakMap<IncomingMessage, Principal>();

/** Records who a request was authenticated as (the auth hook only). */
export function setRequestPrincipal(req: IncomingMessage, principal: Principal): void {
  principals.set(req, principal);
}

/** Who the auth hook authenticated this request as; undefined when it did not run or refused it. */
export function requestPrincipal(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}
