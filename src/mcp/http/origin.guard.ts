import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { HostAllowList } from '../../config/allowed-hosts.js';

/**
 * DNS-rebinding protection the MCP transport spec asks for: a request carrying an `Origin` must
 * come from the gateway's own origins (PUBLIC_URL, loopback on its port, ALLOWED_HOSTS) or one
 * listed in MCP_ALLOWED_ORIGINS (`*` allows any). Never compared with the request's own `Host`:
 * a rebound page sends a matching pair. Requests without `Origin` (SDK clients, mcp-remote, curl)
 * are not browsers and pass.
 */
@Injectable()
export class OriginGuard implements CanActivate {
  constructor(private readonly hosts: HostAllowList) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    const header = req.headers.origin;
    if (header === undefined || this.hosts.allowsOrigin(header)) return true;
    throw new ForbiddenException('Origin not allowed');
  }
}
