import 'reflect-metadata';
import {
  type ArgumentsHost,
  BadRequestException,
  ForbiddenException,
  Logger,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { HttpExceptionFilter } from '../../src/common/http-exception.filter.js';
import { CallError, type CallFailure } from '../../src/reverse-proxy/tunnel/call-error.js';

/** Runs the filter on a fake Fastify reply for a request matched to `route`; returns what it answered. */
function answer(
  exception: unknown,
  route: string | undefined,
  requestHeaders: Record<string, string> = {},
): { status: number; body: unknown; headers?: Record<string, string> } {
  const out = { status: 0, body: undefined as unknown, headers: {} as Record<string, string> };
  const reply = {
    raw: { headersSent: false },
    sent: false,
    request: { url: route ?? '/nowhere', routeOptions: { url: route }, headers: requestHeaders },
    status(code: number) {
      out.status = code;
      return reply;
    },
    headers(values: Record<string, string>) {
      Object.assign(out.headers, values);
      return reply;
    },
    send(body: unknown) {
      out.body = body;
      return reply;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  const { headers, ...rest } = out;
  return Object.keys(headers).length > 0 ? out : rest;
}

const REST = '/reverse-proxy/sessions/:id/request';

// The unexpected error below is logged; not in the test output.
beforeAll(() => Logger.overrideLogger(false));

test.each<[CallFailure, number, string]>([
  ['timeout', 504, 'Gateway Timeout'],
  ['closed', 502, 'Bad Gateway'],
  ['cancelled', 502, 'Bad Gateway'],
  ['busy', 503, 'Service Unavailable'],
  ['overloaded', 503, 'Service Unavailable'],
  ['shutdown', 503, 'Service Unavailable'],
])('a CallError (%s) thrown by the REST door: %i in the gateway shape', (reason, status, error) => {
  expect(answer(new CallError(reason, 'why'), REST)).toEqual({
    status,
    body: { statusCode: status, error, message: 'why', detail: 'why' },
  });
});

test.each(['/servers/:name/mcp', '/servers/:name/sse', '/servers/:name/messages'])('on %s every error is JSON-RPC shaped', (route) => {
  const rpc = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });
  expect(answer(new NotFoundException('Server x not found'), route)).toEqual({ status: 404, body: rpc(-32000, 'Server x not found') });
  expect(answer(new ForbiddenException('Origin not allowed'), route)).toEqual({ status: 403, body: rpc(-32000, 'Origin not allowed') });
  const badJson = new BadRequestException('parser text', { cause: { code: 'FST_ERR_CTP_INVALID_JSON_BODY' } });
  expect(answer(badJson, route)).toEqual({ status: 400, body: rpc(-32700, 'Request body is not valid JSON') });
  expect(answer(new CallError('timeout', 'late'), route)).toEqual({ status: 504, body: rpc(-32001, 'late') });
  expect(answer(new Error('boom'), route)).toEqual({ status: 500, body: rpc(-32603, 'Internal server error') });
});

test('the catalog and unmatched routes keep the gateway shape', () => {
  for (const route of ['/servers', undefined]) {
    expect(answer(new NotFoundException('nope'), route).body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'nope',
      detail: 'nope',
    });
  }
});

test('a 401 thrown by a guard carries WWW-Authenticate: Bearer, with error="invalid_token" when a bearer token was refused', () => {
  for (const route of [REST, '/servers/:name/mcp', '/metrics']) {
    expect(answer(new UnauthorizedException('Authentication required'), route)).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
    expect(answer(new UnauthorizedException('Wrong token'), route, { authorization: 'Bearer nope' })).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    });
  }
  expect(answer(new NotFoundException('nope'), REST)).not.toHaveProperty('headers');
});
