import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger, Optional } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ProtectedResource } from '../auth/oauth/protected-resource.js';
import { challengeForRequest, WWW_AUTHENTICATE } from '../auth/www-authenticate.js';
import { isMcpDoorRoute, jsonRpcErrorBody } from '../mcp/http/mcp-http-replies.js';
import { JsonRpcErrorCode } from '../protocol/json-rpc.js';
import { CALL_FAILURES, CallError } from '../reverse-proxy/tunnel/call-error.js';
import { JSON_TOO_DEEP_CODE } from './json-body-parser.js';
import { withoutQuery } from './without-query.js';

/**
 * What the MCP doors answer for an HttpException that is not a body error (unknown server 404, someone
 * else's server or a refused Host/Origin 403, session caps 429/503): the code the SDK transports give
 * their own HTTP-level refusals.
 */
const MCP_DOOR_REFUSAL = -32000;

/** One error as it is answered: the status, a message safe to show the peer, and its code on the MCP doors. */
interface ErrorAnswer {
  status: number;
  message: string;
  jsonRpcCode: number;
}

/**
 * One error shape for every HTTP route: `{statusCode, error, message, detail}` (`detail` keeps
 * the reference gateway's field); on the MCP doors (`isMcpDoorRoute`) a JSON-RPC error
 * `{jsonrpc, error: {code, message}, id: null}` with the same status instead, as the SDK transports
 * answer. A failed tunnel call (`CallError`, thrown by the REST door) gets its status from
 * `CALL_FAILURES`. Unexpected errors are logged and answered without internals.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  /** `resource`: where a 401's challenge points the client (none in unit tests that build the filter bare). */
  constructor(@Optional() private readonly resource?: ProtectedResource) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, message, jsonRpcCode } = this.answerFor(exception);
    if (reply.raw.headersSent) return;
    const body = isMcpDoorRoute(reply.request?.routeOptions?.url)
      ? jsonRpcErrorBody(jsonRpcCode, message)
      : gatewayErrorBody(status, message);
    // A 401 thrown by a guard (JwtAuthGuard failing closed, the /metrics token): a challenge like the auth hook's.
    const headers: Record<string, string> =
      status === 401
        ? { [WWW_AUTHENTICATE]: challengeForRequest(reply.request?.headers ?? {}, this.resource?.challengeHints(reply.request?.url)) }
        : {};
    if (!reply.sent) {
      reply.status(status).headers(headers).send(body);
      return;
    }
    // The MCP doors hijack the reply for the SDK transports before they look the server up.
    const text = JSON.stringify(body);
    reply.raw
      .writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
      .end(text);
  }

  private answerFor(exception: unknown): ErrorAnswer {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Fastify's body-parser texts quote the parser: a fixed sentence (and JSON-RPC code) instead.
      const bodyError = bodyErrorOf(exception.cause);
      if (bodyError) return { status, ...bodyError };
      // Nest's 404 quotes the URL: its query (a `?token=`) is no business of the peer's.
      const message = withoutQuery(messageOf(exception));
      return {
        status,
        message,
        jsonRpcCode: status === 500 ? JsonRpcErrorCode.InternalError : MCP_DOOR_REFUSAL,
      };
    }
    if (exception instanceof CallError) {
      const failure = CALL_FAILURES[exception.reason];
      return { status: failure.httpStatus, message: exception.message, jsonRpcCode: failure.jsonRpcCode };
    }
    this.logger.error({
      msg: 'Unhandled error',
      error: withoutQuery(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)),
    });
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', jsonRpcCode: JsonRpcErrorCode.InternalError };
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
