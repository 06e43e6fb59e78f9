import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { HostAllowList, parseHost } from '../../config/allowed-hosts.js';

/**
 * DNS-rebinding protection on the MCP doors: the `Host` header must name the gateway (loopback on
 * its port, PUBLIC_URL's host, ALLOWED_HOSTS). A page on evil.example whose name was rebound to the
 * gateway's address sends `Host: evil.example` and is refused with 403, as the SDK's
 * hostHeaderValidation middleware does, whatever its `Origin` says.
 */
@Injectable()
export class HostGuard implements CanActivate {
  constructor(private readonly hosts: HostAllowList) {}

  canActivate(context: ExecutionContext): boolean {
    const host = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>().headers.host;
    if (this.hosts.allowsHost(host)) return true;
    if (!host) throw new ForbiddenException('Missing Host header');
    const hostname = parseHost(host)?.hostname;
    // The SDK's texts; only a name that parsed as a host is quoted back.
    throw new ForbiddenException(hostname ? `Invalid Host: ${hostname}` : 'Invalid Host header');
  }
}
