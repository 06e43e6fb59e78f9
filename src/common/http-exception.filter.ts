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
      message = messageOf(exception);
    } else if (isClientError(exception)) {
      // body-parser errors (bad JSON, too large) carry a 4xx status and a safe `type`.
      status = exception.status;
      message = exception.type === 'entity.too.large' ? 'Request body is too large' : 'Request body is not valid JSON';
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

function isClientError(err: unknown): err is { status: number; type?: string } {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
