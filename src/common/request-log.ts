import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request's id: the caller's X-Request-ID when it is sane, else a fresh UUID (Fastify's `genReqId`). */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Echoes every request's id as X-Request-ID and logs one structured line when the response ends:
 * at debug level, or warn for server errors. Only the path is logged, never the query string, so
 * `?token=` stays out of the logs. Fastify hooks rather than a Nest middleware: they also see
 * requests no route matched, and cost nothing per request when the line is not wanted.
 */
export function registerRequestLog(fastify: FastifyInstance, debug: boolean): void {
  const logger = new Logger('HTTP');
  fastify.addHook('onRequest', (req, reply, done) => {
    // On the Node response, so replies hijacked by the MCP transports carry it too.
    reply.raw.setHeader('X-Request-ID', req.id);
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    if (debug || status >= 500) {
      const entry = {
        msg: 'request',
        requestId: req.id,
        method: req.method,
        path: pathOf(req),
        status,
        user: (req as FastifyRequest & { user?: Principal }).user?.user ?? null,
        sessionId: sessionIdOf(req),
        ms: reply.elapsedTime,
      };
      if (status >= 500) logger.warn(entry);
      else logger.debug(entry);
    }
    done();
  });
}

function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q === -1 ? req.url : req.url.slice(0, q);
}

function sessionIdOf(req: FastifyRequest): string | undefined {
  const id = (req.params as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
