import { ApiProperty } from '@nestjs/swagger';

/**
 * The gateway's one error body (`gatewayErrorBody` in common/http-exception.filter.ts), as the API
 * docs show it on every 4xx and 5xx answer. Here, at the lowest layer that may use Nest, because
 * `@Authenticated()`'s 401 is its first user; the admin API, the MCP doors' 401 and the probes use it too.
 */
export class ErrorResponseDto {
  @ApiProperty({ description: 'The HTTP status, repeated.', example: 404 })
  statusCode!: number;

  @ApiProperty({ description: "The status's reason phrase.", example: 'Not Found' })
  error!: string;

  @ApiProperty({ description: 'What went wrong, safe to show (never internals or a query string).', example: 'Session 9f2c… not found' })
  message!: string;

  @ApiProperty({ description: 'The same text as message (the field name of the reference gateway).', example: 'Session 9f2c… not found' })
  detail!: string;
}
