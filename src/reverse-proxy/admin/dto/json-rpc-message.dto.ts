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

  @ApiPropertyOptional({ example: 'tools/call', description: 'Method name, for a request or a notification; absent for answers.' })
  method?: string;

  @ApiPropertyOptional({ example: { name: 'echo', arguments: { message: 'hi' } }, description: 'Method parameters.', type: Object })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Only in an answer (no method): the result of a server request, or of your request in the 200 reply.',
    type: Object,
  })
  result?: unknown;

  @ApiPropertyOptional({ description: 'Only in an answer (no method), instead of result: `{code, message, data?}`.', type: Object })
  error?: unknown;
}

/**
 * The request bodies Swagger UI offers for POST /reverse-proxy/sessions/:id/request. Each works when
 * sent as is to the walk-through's server, `@modelcontextprotocol/server-everything` (its `echo`
 * tool takes `message`); test/e2e/swagger-examples.e2e.spec.ts sends every one.
 */
export const SEND_MESSAGE_EXAMPLES: Record<string, { summary: string; value: Record<string, unknown> }> = {
  'tools/call': {
    summary: 'Call a tool and wait for its answer (200)',
    value: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } },
  },
  'tools/list': {
    summary: "List the server's tools (200)",
    value: { jsonrpc: '2.0', id: 2, method: 'tools/list' },
  },
  ping: {
    summary: 'Ping the server (200)',
    value: { jsonrpc: '2.0', id: 3, method: 'ping' },
  },
  notification: {
    summary: 'Send a notification: no id, no answer (202)',
    value: { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
  },
};

/** The 200 answer to the `tools/call` example: the server's response with the caller's own id. */
export const SEND_MESSAGE_ANSWER_EXAMPLE = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'Echo: hi' }] } };
