import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { JsonRpcErrorCode } from '../protocol/json-rpc.js';
import { JSON_TOO_DEEP_CODE } from './json-body-parser.js';
import { withoutQuery } from './without-query.js';

/**
 * One error shape for every HTTP route: `{statusCode, error, message, detail}` (`detail` keeps
 * the reference gateway's field). Unexpected errors are logged and answered without internals.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error';
    let bodyError: BodyError | undefined;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      bodyError = bodyErrorOf(exception.cause);
      // Nest's 404 quotes the URL: its query (a `?token=`) is no business of the peer's.
      message = bodyError?.message ?? withoutQuery(messageOf(exception));
    } else {
      this.logger.error({
        msg: 'Unhandled error',
        error: withoutQuery(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)),
      });
    }
    if (reply.raw.headersSent) return;
    // MCP clients read a refused body as a JSON-RPC error, as the SDK transports answer it.
    const mcpDoor = bodyError !== undefined && (reply.request?.url ?? '').startsWith('/servers/');
    const body = mcpDoor
      ? { jsonrpc: '2.0', error: { code: bodyError!.jsonRpcCode, message }, id: null }
      : gatewayErrorBody(status, message);
    if (!reply.sent) {
      reply.status(status).send(body);
      return;
    }
    // The MCP doors hijack the reply for the SDK transports before they look the server up.
    const text = JSON.stringify(body);
    reply.raw.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}

/** The gateway's error body for a status and a message that is safe to show the peer. */
export function gatewayErrorBody(status: number, message: string) {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, detail: message };
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

interface BodyError {
  message: string;
  jsonRpcCode: number;
}

/** Fastify's body-parser texts quote the parser; callers get a fixed sentence instead (and MCP clients a JSON-RPC code). */
const BODY_ERRORS: Record<string, BodyError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { message: 'Request body is not valid JSON', jsonRpcCode: JsonRpcErrorCode.ParseError },
  FST_ERR_CTP_EMPTY_JSON_BODY: { message: 'Request body is not valid JSON', jsonRpcCode: JsonRpcErrorCode.ParseError },
  FST_ERR_CTP_BODY_TOO_LARGE: { message: 'Request body is too large', jsonRpcCode: JsonRpcErrorCode.InvalidRequest },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    message: 'Unsupported content type: send application/json',
    jsonRpcCode: JsonRpcErrorCode.InvalidRequest,
  },
  [JSON_TOO_DEEP_CODE]: { message: 'Request body nests arrays or objects too deeply', jsonRpcCode: JsonRpcErrorCode.InvalidRequest },
};

function bodyErrorOf(cause: unknown): BodyError | undefined {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && Object.hasOwn(BODY_ERRORS, code) ? BODY_ERRORS[code] : undefined;
}
