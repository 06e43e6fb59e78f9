import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Authenticated } from '../../auth/authenticated.decorator.js';
import { CurrentPrincipal } from '../../auth/current-principal.decorator.js';
import type { Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { HostAllowList } from '../../config/allowed-hosts.js';
import { ServerCatalogDto } from './dto/server-catalog.dto.js';
import { ServerCatalog } from './server-catalog.service.js';

/** `GET /servers`: the MCP servers the caller can reach, with their URLs. */
@ApiTags('mcp')
@Controller('servers')
@Authenticated()
export class CatalogController {
  constructor(
    private readonly catalog: ServerCatalog,
    private readonly hosts: HostAllowList,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'List the MCP servers the caller may use, with its role on each: own, shared with it (user, group, everyone) and anonymous ones; all for admins',
  })
  @ApiOkResponse({ type: ServerCatalogDto })
  list(@CurrentPrincipal() principal: Principal, @Req() req: FastifyRequest): ServerCatalogDto {
    const servers = this.catalog.entries(principal, this.baseUrl(req));
    return { servers, total: servers.length };
  }

  /** The gateway's public URL (HostAllowList.publicBaseUrl), else its loopback address on the port the request came to. */
  private baseUrl(req: FastifyRequest): string {
    return (
      this.hosts.publicBaseUrl(req.headers.host, req.protocol === 'https') ??
      `http://localhost:${req.raw.socket.localPort ?? this.config.port}`
    );
  }
}
