import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { ServerCatalogDto } from './dto/server-catalog.dto.js';
import { ServerCatalog } from './server-catalog.service.js';

/** `GET /servers`: the MCP servers the caller can reach, with their URLs. */
@ApiTags('mcp')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired token.' })
@Controller('servers')
@UseGuards(JwtAuthGuard)
export class CatalogController {
  constructor(private readonly catalog: ServerCatalog) {}

  @Get()
  @ApiOperation({ summary: 'List the MCP servers reachable by the caller: own and anonymous ones, all for admins' })
  @ApiOkResponse({ type: ServerCatalogDto })
  list(@CurrentPrincipal() principal: Principal, @Req() req: FastifyRequest): ServerCatalogDto {
    const servers = this.catalog.entries(principal, `${req.protocol}://${req.headers.host ?? 'localhost'}`);
    return { servers, total: servers.length };
  }
}
