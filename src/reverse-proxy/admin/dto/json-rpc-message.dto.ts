import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** A JSON-RPC 2.0 message for the tunnelled server (request, notification, or an answer to a server request). */
export class JsonRpcMessageDto {
  @ApiProperty({ example: '2.0', description: 'Always "2.0".' })
  jsonrpc!: '2.0';

  @ApiPropertyOptional({
    example: 1,
    description: 'Request id (string or number); absent for notifications.',
    oneOf: [{ type: 'string' }, { type: 'number' }],
  })
  id?: string | number;

  @ApiPropertyOptional({ example: 'tools/call', description: 'Method name; absent for answers.' })
  method?: string;

  @ApiPropertyOptional({ example: { name: 'echo', arguments: { text: 'hi' } }, description: 'Method parameters.', type: Object })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Result, when answering a server-to-client request.', type: Object })
  result?: unknown;

  @ApiPropertyOptional({ description: 'Error, when answering a server-to-client request.', type: Object })
  error?: unknown;
}
