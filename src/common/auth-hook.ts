import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/auth.service.js';
import { PROTECTED_RESOURCE_METADATA_PATH, type ProtectedResource } from '../auth/oauth/protected-resource.js';
import { setRequestPrincipal } from '../auth/request-principal.js';
import { isConsoleRoute } from '../console/serve-console.js';
import { authRefusal } from '../auth/www-authenticate.js';
import { gatewayErrorBody } from './http-exception.filter.js';

/**
 * Route patterns anyone may call: the probes, the API docs, the admin console's files (its API calls
 * carry the token), the OAuth protected resource metadata (what a client refused here reads to log
 * in), and /metrics (guarded by METRICS_TOKEN instead, metrics/metrics-token.guard.ts). Everything
 * else, unknown routes included, needs auth.
 */
function isPublicRoute(route: string | undefined): boolean {
  if (route === undefined) return false;
  return (
    route === '/health' ||
    route === '/ready' ||
    route === '/metrics' ||
    route === '/docs' ||
    route.startsWith('/docs/') ||
    route === '/docs-json' ||
    route === '/docs-yaml' ||
    isConsoleRoute(route) ||
    route === PROTECTED_RESOURCE_METADATA_PATH ||
    route.startsWith(`${PROTECTED_RESOURCE_METADATA_PATH}/`)
  );
}

/** Whether the client announced a body that has not been read yet. */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Authenticates every HTTP request in Fastify's `onRequest` hook, before its body is read: a caller
 * without valid credentials costs the gateway its headers only, never a 4 MiB body. AuthService is the
 * same entry the tunnel upgrade uses (a repeat token answered from the VerifiedTokenCache). The principal is
 * kept for JwtAuthGuard (auth/request-principal.ts), so a token is verified once per request. Decided by
 * the matched route pattern, not the raw URL, so `/docs/../x` or `/%68ealth` cannot pass as public.
 */
export function registerAuthHook(fastify: FastifyInstance, auth: AuthService, resource?: ProtectedResource): void {
  fastify.addHook('onRequest', async (req, reply) => {
    if (isPublicRoute(req.routeOptions.url)) return;
    try {
      setRequestPrincipal(req.raw, await auth.authenticate(req.raw));
    } catch (err) {
      const { status, message, headers } = authRefusal(err, resource?.challengeHints(req.url));
      // The unread body would be drained on a kept-alive socket: close it instead.
      if (hasBody(req)) reply.header('Connection', 'close');
      return reply.code(status).headers(headers).send(gatewayErrorBody(status, message));
    }
  });
}
