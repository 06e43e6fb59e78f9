import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';

/**
 * One error shape for every HTTP route: `{statusCode, error, message, detail}` (`detail` keeps
 * the reference gateway's field). Unexpected errors are logged and answered without internals.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error';
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = bodyParserMessage(exception.cause) ?? messageOf(exception);
    } else {
      this.logger.error({ msg: 'Unhandled error', error: exception instanceof Error ? exception.stack : String(exception) });
    }
    if (res.headersSent) return;
    res.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, detail: message });
  }
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** body-parser's own texts quote the parser; callers get a fixed sentence instead. */
function bodyParserMessage(cause: unknown): string | undefined {
  const type = (cause as { type?: unknown } | undefined)?.type;
  if (type === 'entity.parse.failed') return 'Request body is not valid JSON';
  if (type === 'entity.too.large') return 'Request body is too large';
  return undefined;
}
