import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One server reachable by the caller. */
export class ServerCatalogEntryDto {
  @ApiProperty({ description: 'Name given at register; the stable part of the URLs.', example: 'github' })
  name!: string;

  @ApiPropertyOptional({ description: "Human-readable title, from register or the server's serverInfo." })
  title?: string;

  @ApiPropertyOptional({ description: 'What the server is for, as registered.' })
  description?: string;

  @ApiPropertyOptional({ description: 'Version of the server, from serverInfo or register.' })
  version?: string;

  @ApiPropertyOptional({
    description: 'Number of tools, once some client listed them through the gateway; absent until then.',
    example: 12,
  })
  tools_count?: number;

  @ApiProperty({ description: 'Owner of the tunnel (token `sub` or `email`); null when anonymous.', nullable: true, type: String })
  owner!: string | null;

  @ApiProperty({
    description: "The caller's role: owner, admin, or user (the owner shared the server with the caller).",
    enum: ['owner', 'admin', 'user'],
    example: 'owner',
  })
  role!: 'owner' | 'admin' | 'user';

  @ApiProperty({ description: 'When the tunnel serving the name connected (ISO 8601).', example: '2026-01-01T12:00:00.000Z' })
  connected_since!: string;

  @ApiProperty({ description: 'MCP protocol version the local server speaks, as registered.', required: false })
  protocol_version?: string;

  @ApiProperty({ description: 'Streamable HTTP endpoint (MCP 2025-03-26 and later).', example: 'http://gateway:3000/servers/github/mcp' })
  url!: string;

  @ApiProperty({ description: 'Legacy HTTP+SSE endpoint (MCP 2024-11-05).', example: 'http://gateway:3000/servers/github/sse' })
  sse_url!: string;
}

/** The catalog of servers the caller may reach. */
export class ServerCatalogDto {
  @ApiProperty({ type: [ServerCatalogEntryDto] })
  servers!: ServerCatalogEntryDto[];

  @ApiProperty({ example: 1 })
  total!: number;
}
