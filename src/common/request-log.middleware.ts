import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Gives every HTTP request an id (the caller's X-Request-ID when it is sane), echoes it, and logs
 * one structured line when the response ends: at debug level, or warn for server errors. Only the
 * path is logged, never the query string, so `?token=` stays out of the logs.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  private readonly logger = new Logger('HTTP');
  private readonly debug: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.debug = config.logLevel === 'debug';
  }

  use(req: Request & { id?: string; user?: Principal }, res: Response, next: NextFunction): void {
    const header = req.headers['x-request-id'];
    const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    req.id = id;
    res.setHeader('X-Request-ID', id);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      // Most requests log nothing; build the entry only for those that do.
      if (!this.debug && res.statusCode < 500) return;
      const entry = {
        msg: 'request',
        requestId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        user: req.user?.user ?? null,
        sessionId: typeof req.params?.id === 'string' ? req.params.id : undefined,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      };
      if (res.statusCode >= 500) this.logger.warn(entry);
      else this.logger.debug(entry);
    });
    next();
  }
}
