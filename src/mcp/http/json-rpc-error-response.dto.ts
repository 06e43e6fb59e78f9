import { ApiProperty } from '@nestjs/swagger';

/** The `error` member of a JSON-RPC error answer. */
export class JsonRpcErrorDto {
  @ApiProperty({
    description: 'JSON-RPC error code: -32000 for a refusal by the gateway, -32700/-32600 for a bad body, -32001 for a timeout.',
    example: -32000,
  })
  code!: number;

  @ApiProperty({ description: 'What went wrong, safe to show.', example: 'Server everything not found' })
  message!: string;
}

/**
 * What the MCP doors answer on an error other than a 401 (`jsonRpcErrorBody` in mcp-http-replies.ts),
 * as the API docs show it: a JSON-RPC error with `id: null`, under the HTTP status.
 */
export class JsonRpcErrorResponseDto {
  @ApiProperty({ description: 'Always "2.0".', example: '2.0' })
  jsonrpc!: '2.0';

  @ApiProperty({ type: JsonRpcErrorDto, description: 'The error.' })
  error!: JsonRpcErrorDto;

  @ApiProperty({
    description: 'Always null: the error answers the HTTP request, not one JSON-RPC id.',
    nullable: true,
    type: String,
    example: null,
  })
  id!: null;
}
