import { Controller, Get, Header, HttpCode, NotFoundException, Options, Param } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { ErrorResponseDto } from '../error-response.dto.js';
import { type McpDoor, PROTECTED_RESOURCE_METADATA_PATH, ProtectedResource } from './protected-resource.js';

/** The metadata changes only with the configuration, i.e. on a restart. */
const CACHE_CONTROL = 'public, max-age=3600';

/** Not found: no metadata published (OAUTH_AUTHORIZATION_SERVERS unset) or a name no server could have. */
const NOT_PUBLISHED = 'No protected resource metadata here';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): public, so that a client refused with a 401 can
 * find out where to log in, and readable from any web page (`Access-Control-Allow-Origin: *`; the
 * documents hold nothing secret), which the MCP Inspector's browser-side login needs. Paths are
 * taken out of the auth hook's check (common/auth-hook.ts).
 */
@ApiTags('oauth')
@Controller(PROTECTED_RESOURCE_METADATA_PATH.slice(1))
export class ProtectedResourceController {
  constructor(private readonly resource: ProtectedResource) {}

  /** The gateway's own metadata: the resource `PUBLIC_URL`, for the admin API and the tunnel endpoint. */
  @Get()
  @Header('Cache-Control', CACHE_CONTROL)
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({ summary: "The gateway's OAuth protected resource metadata (RFC 9728)" })
  @ApiOkResponse({ description: '{"resource":"<PUBLIC_URL>","authorization_servers":[...],...}' })
  @ApiNotFoundResponse({ description: 'OAUTH_AUTHORIZATION_SERVERS is not set', type: ErrorResponseDto })
  gateway(): OAuthProtectedResourceMetadata {
    return this.found(this.resource.metadata());
  }

  /** One server's Streamable HTTP endpoint: the resource `<PUBLIC_URL>/servers/<name>/mcp`. */
  @Get('servers/:name/mcp')
  @Header('Cache-Control', CACHE_CONTROL)
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({ summary: "An MCP endpoint's OAuth protected resource metadata (RFC 9728)" })
  @ApiOkResponse({ description: '{"resource":"<PUBLIC_URL>/servers/<name>/mcp","authorization_servers":[...],...}' })
  @ApiNotFoundResponse({
    description: 'OAUTH_AUTHORIZATION_SERVERS is not set, or the name is not a valid server name',
    type: ErrorResponseDto,
  })
  streamableHttp(@Param('name') name: string): OAuthProtectedResourceMetadata {
    return this.door(name, 'mcp');
  }

  /** One server's legacy SSE endpoint: the resource `<PUBLIC_URL>/servers/<name>/sse`. */
  @Get('servers/:name/sse')
  @Header('Cache-Control', CACHE_CONTROL)
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({ summary: "A legacy SSE endpoint's OAuth protected resource metadata (RFC 9728)" })
  @ApiOkResponse({ description: '{"resource":"<PUBLIC_URL>/servers/<name>/sse","authorization_servers":[...],...}' })
  @ApiNotFoundResponse({
    description: 'OAUTH_AUTHORIZATION_SERVERS is not set, or the name is not a valid server name',
    type: ErrorResponseDto,
  })
  legacySse(@Param('name') name: string): OAuthProtectedResourceMetadata {
    return this.door(name, 'sse');
  }

  /** CORS preflight: MCP clients in a browser send `MCP-Protocol-Version` with their GET. */
  @Options(['', 'servers/:name/mcp', 'servers/:name/sse'])
  @HttpCode(204)
  @Header('Access-Control-Allow-Origin', '*')
  @Header('Access-Control-Allow-Methods', 'GET, OPTIONS')
  @Header('Access-Control-Allow-Headers', 'MCP-Protocol-Version')
  @Header('Access-Control-Max-Age', '86400')
  @ApiExcludeEndpoint()
  preflight(): void {}

  private door(name: string, door: McpDoor): OAuthProtectedResourceMetadata {
    return this.found(this.resource.metadata({ name, door }));
  }

  private found(metadata: OAuthProtectedResourceMetadata | undefined): OAuthProtectedResourceMetadata {
    if (!metadata) throw new NotFoundException(NOT_PUBLISHED);
    return metadata;
  }
}
