import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

const BEARER = /^bearer\s+(\S+)\s*$/i;

/** What a scraper without the right token is told (the same whether it sent none or a wrong one). */
export const METRICS_TOKEN_REQUIRED = 'This endpoint needs Authorization: Bearer <METRICS_TOKEN>';

/**
 * `/metrics` with METRICS_TOKEN set: only `Authorization: Bearer <METRICS_TOKEN>` passes, compared
 * in constant time (as SHA-256 digests, so neither the content nor the length of the token leaks
 * through timing); anything else is a 401 (the error filter adds `WWW-Authenticate: Bearer`).
 * Without METRICS_TOKEN every request passes.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.metrics.token === undefined ? undefined : digest(config.metrics.token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const header = context.switchToHttp().getRequest<{ raw: IncomingMessage }>().raw.headers.authorization;
    const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (presented !== undefined && timingSafeEqual(digest(presented), this.expected)) return true;
    throw new UnauthorizedException(METRICS_TOKEN_REQUIRED);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
