import 'reflect-metadata';
import { BadRequestException } from '@nestjs/common';
import { SendRequestQueryDto } from '../../../src/reverse-proxy/admin/dto/send-request-query.dto.js';
import { ParseJsonRpcMessagePipe } from '../../../src/reverse-proxy/admin/parse-json-rpc-message.pipe.js';
import { SendRequestQueryPipe } from '../../../src/reverse-proxy/admin/send-request-query.pipe.js';

describe('ParseJsonRpcMessagePipe', () => {
  const pipe = new ParseJsonRpcMessagePipe();

  test.each([
    [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'request'],
    [{ jsonrpc: '2.0', method: 'notifications/x' }, 'notification'],
    [{ jsonrpc: '2.0', id: 'a', result: {} }, 'response'],
    [{ jsonrpc: '2.0', id: null, error: { code: -1, message: 'x' } }, 'response'],
  ])('%j is a %s, passed on classified', (body, kind) => {
    expect(pipe.transform(body)).toEqual({ kind, message: body });
  });

  test.each([
    ['no jsonrpc', { id: 1, method: 'tools/list' }],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'tools/list' }],
    ['jsonrpc as a number', { jsonrpc: 2, method: 'x' }],
    ['no body', undefined],
    ['a batch', [{ jsonrpc: '2.0', id: 1, method: 'x' }]],
    ['a bad id', { jsonrpc: '2.0', id: {}, method: 'x' }],
  ])('%s: 400', (_what, body) => {
    expect(() => pipe.transform(body)).toThrow(BadRequestException);
  });
});

describe('SendRequestQueryPipe', () => {
  const pipe = new SendRequestQueryPipe();

  test('an empty query (fastify: no prototype) becomes a DTO, every time', async () => {
    for (let i = 0; i < 3; i++) expect(await pipe.transform(Object.create(null))).toBeInstanceOf(SendRequestQueryDto);
    expect(await pipe.transform({})).toEqual(new SendRequestQueryDto());
  });

  test('?token= is set aside, not refused; alone it is an empty query', async () => {
    expect(await pipe.transform({ token: 'jwt' })).toEqual(new SendRequestQueryDto());
    const out = await pipe.transform(Object.assign(Object.create(null), { token: 'jwt', timeout_ms: '50' }));
    expect(out).toBeInstanceOf(SendRequestQueryDto);
    expect(out).toEqual(Object.assign(new SendRequestQueryDto(), { timeout_ms: 50 }));
  });

  /** The messages a refused query is answered with. */
  const refusal = (query: Record<string, unknown>) =>
    pipe.transform(query).then(
      () => 'accepted',
      (err: unknown) => (err instanceof BadRequestException ? (err.getResponse() as { message: unknown }).message : err),
    );

  test('options are converted and validated in full after the empty shortcut was taken', async () => {
    await pipe.transform({});
    expect(await pipe.transform({ timeout_ms: '50', wait: 'false' })).toMatchObject({ timeout_ms: 50, wait: false });
    expect(await refusal({ timeout_ms: 'abc' })).toEqual(['timeout_ms must be a whole number of milliseconds']);
    expect(await refusal({ wait: 'maybe' })).toEqual(['wait must be true or false']);
    expect(await refusal({ unknown: '1' })).toEqual(['property unknown should not exist']);
  });
});
