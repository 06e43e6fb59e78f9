import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * DNS-rebinding protection the MCP transport spec asks for: a request carrying an `Origin` must
 * come from the gateway's own origin or one listed in MCP_ALLOWED_ORIGINS (`*` allows any).
 * Requests without `Origin` (SDK clients, mcp-remote, curl) are not browsers and pass.
 */
@Injectable()
export class OriginGuard implements CanActivate {
  private readonly allowed: Set<string>;
  private readonly allowAny: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.allowAny = config.mcp.allowedOrigins.includes('*');
    this.allowed = new Set(config.mcp.allowedOrigins.map(normalizeOrigin).filter((o): o is string => o !== undefined));
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    const header = req.headers.origin;
    if (header === undefined || this.allowAny) return true;
    const origin = normalizeOrigin(header);
    if (origin !== undefined && (this.allowed.has(origin) || isSameOrigin(origin, req))) return true;
    throw new ForbiddenException('Origin not allowed');
  }
}

function normalizeOrigin(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

function isSameOrigin(origin: string, req: { headers: IncomingHttpHeaders }): boolean {
  const host = req.headers.host;
  return host !== undefined && new URL(origin).host === host.toLowerCase();
}
