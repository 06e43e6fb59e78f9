import type { FastifyInstance } from 'fastify';
import { SHUTTING_DOWN, type ShutdownState } from './shutdown-state.js';

/** Paths still answered during the drain: the probes (readiness answers 503 itself). */
const PROBES = new Set(['/health', '/ready']);

/**
 * Answers every new HTTP request with 503 once the gateway drains, before routing, so no new call
 * starts; requests already in flight are not affected. Same body shape as HttpExceptionFilter.
 */
export function refuseWhileDraining(fastify: FastifyInstance, state: ShutdownState): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!state.draining || PROBES.has(request.url.split('?', 1)[0])) {
      done();
      return;
    }
    void reply
      .code(503)
      .header('Connection', 'close')
      .send({ statusCode: 503, error: 'Service Unavailable', message: SHUTTING_DOWN, detail: SHUTTING_DOWN });
  });
}
