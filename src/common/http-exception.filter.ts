import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';

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
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = bodyErrorMessage(exception.cause) ?? messageOf(exception);
    } else {
      this.logger.error({ msg: 'Unhandled error', error: exception instanceof Error ? exception.stack : String(exception) });
    }
    if (reply.raw.headersSent) return;
    const body = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, detail: message };
    if (!reply.sent) {
      reply.status(status).send(body);
      return;
    }
    // The MCP doors hijack the reply for the SDK transports before they look the server up.
    const text = JSON.stringify(body);
    reply.raw.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** Fastify's body-parser texts quote the parser; callers get a fixed sentence instead. */
function bodyErrorMessage(cause: unknown): string | undefined {
  switch ((cause as { code?: unknown } | undefined)?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is not valid JSON';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported content type: send application/json';
    default:
      return undefined;
  }
}
