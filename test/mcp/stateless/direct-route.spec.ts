import type { IncomingHttpHeaders } from 'node:http';
import { CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { AcceptedEnvelopes, directStatelessRoute, STATELESS_REVISION } from '../../../src/mcp/stateless/direct-route.js';

const envelope = (revision = STATELESS_REVISION, capabilities: unknown = {}) => ({
  [PROTOCOL_VERSION_META_KEY]: revision,
  [CLIENT_CAPABILITIES_META_KEY]: capabilities,
});

/** A 2026-07-28 request with its envelope in `_meta`. */
const request = (method: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = envelope()) => ({
  jsonrpc: '2.0',
  id: 7,
  method,
  params: { ...params, _meta: meta },
});

/** The routing headers a conforming client sends for `body` (Node lower-cases header names). */
function headersFor(body: { method: string; params: Record<string, unknown> }, overrides: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  const name = body.params.name ?? body.params.uri;
  return {
    'content-type': 'application/json',
    'mcp-protocol-version': STATELESS_REVISION,
    'mcp-method': body.method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    ...overrides,
  };
}

const call = request('tools/call', { name: 'echo', arguments: { text: 'x' } });

describe('admitted: the SDK would hand these to its server as they are', () => {
  test.each([
    ['tools/call with its name header', call],
    ['resources/read with its uri header', request('resources/read', { uri: 'file:///a.txt' })],
    ['prompts/get with its name header', request('prompts/get', { name: 'greet' })],
    ['tools/list, which has no Mcp-Name', request('tools/list')],
  ])('%s', (_, body) => {
    const route = directStatelessRoute(headersFor(body), body);
    expect(route).toBeDefined();
    expect(route!.message).toEqual(body);
    expect(route!.classification).toEqual({ era: 'modern', revision: STATELESS_REVISION });
  });

  test('a JSON content type with a charset', () => {
    expect(directStatelessRoute(headersFor(call, { 'content-type': 'application/json; charset=utf-8' }), call)).toBeDefined();
  });
});

describe('left to the SDK handler (its refusals and the unusual cases)', () => {
  test.each<[string, IncomingHttpHeaders]>([
    ['a wrong MCP-Protocol-Version header', { 'mcp-protocol-version': '2025-11-25' }],
    ['a missing MCP-Protocol-Version header', { 'mcp-protocol-version': undefined }],
    ['an Mcp-Method header that is not the body method', { 'mcp-method': 'tools/list' }],
    ['a missing Mcp-Name header', { 'mcp-name': undefined }],
    ['an Mcp-Name header naming another tool', { 'mcp-name': 'hold' }],
    // The SDK decodes the sentinel; it is valid here but rare, so the handler deals with it.
    ['an Mcp-Name header in the base64 sentinel form', { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` }],
    // The SDK strips the padding before comparing; the direct path takes only the exact value.
    ['an Mcp-Name header padded with spaces', { 'mcp-name': ' echo ' }],
    ['a body that is not declared JSON', { 'content-type': 'text/plain' }],
    ['no content type', { 'content-type': undefined }],
  ])('tools/call with %s', (_, overrides) => {
    expect(directStatelessRoute(headersFor(call, overrides), call)).toBeUndefined();
  });

  test.each([
    ['server/discover', request('server/discover')],
    ['subscriptions/listen', request('subscriptions/listen')],
  ])('%s, a method the server does not merely relay', (_, body) => {
    expect(directStatelessRoute(headersFor(body), body)).toBeUndefined();
  });

  test('a request without the envelope', () => {
    const body = { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} };
    expect(directStatelessRoute(headersFor(body), body)).toBeUndefined();
  });

  test('an envelope naming another revision than the header', () => {
    const body = request('tools/list', {}, envelope('2026-12-01'));
    expect(directStatelessRoute(headersFor(body), body)).toBeUndefined();
  });

  test('an envelope whose client capabilities are not an object', () => {
    const body = request('tools/list', {}, envelope(STATELESS_REVISION, 'all'));
    expect(directStatelessRoute(headersFor(body), body)).toBeUndefined();
  });

  test('a batch', () => {
    expect(directStatelessRoute(headersFor(call), [call])).toBeUndefined();
  });

  test('a notification', () => {
    // A relayed method name, so that only the message kind can refuse it.
    const { id: _id, ...notification } = request('tools/list');
    expect(directStatelessRoute(headersFor(notification), notification)).toBeUndefined();
  });
});

describe('accepted envelopes: the SDK classification of a _meta is remembered', () => {
  test('an accepted _meta is remembered, and a request carrying it again gets the route the SDK gave the first', () => {
    const accepted = new AcceptedEnvelopes();
    const first = directStatelessRoute(headersFor(call), call, accepted);
    expect(accepted.has(JSON.stringify(call.params._meta))).toBe(true);
    const again = request('tools/call', { name: 'echo', arguments: { text: 'y' } });
    const second = directStatelessRoute(headersFor(again), again, accepted);
    expect(second).toEqual({ ...first, message: again });
  });

  test('an envelope the SDK refuses is not remembered, and stays refused', () => {
    const accepted = new AcceptedEnvelopes();
    const bad = request('tools/call', { name: 'echo' }, envelope(STATELESS_REVISION, 'not-an-object'));
    expect(directStatelessRoute(headersFor(bad), bad, accepted)).toBeUndefined();
    expect(accepted.has(JSON.stringify(bad.params._meta))).toBe(false);
    expect(directStatelessRoute(headersFor(bad), bad, accepted)).toBeUndefined();
  });

  test('a remembered _meta does not excuse the other checks (headers, shape)', () => {
    const accepted = new AcceptedEnvelopes();
    expect(directStatelessRoute(headersFor(call), call, accepted)).toBeDefined();
    expect(directStatelessRoute(headersFor(call, { 'mcp-name': 'other' }), call, accepted)).toBeUndefined();
    expect(directStatelessRoute(headersFor(call, { 'mcp-method': 'tools/list' }), call, accepted)).toBeUndefined();
    expect(directStatelessRoute(headersFor(call), { ...call, extra: true }, accepted)).toBeUndefined();
    expect(directStatelessRoute(headersFor(call), { ...call, id: 1.5 }, accepted)).toBeUndefined();
  });

  test('a _meta too long to keep is routed but not remembered (its bytes stay bounded)', () => {
    const accepted = new AcceptedEnvelopes(256, 1024);
    const long = request('tools/call', { name: 'echo' }, { ...envelope(), padding: 'x'.repeat(2048) });
    expect(directStatelessRoute(headersFor(long), long, accepted)).toBeDefined();
    expect(accepted.has(JSON.stringify(long.params._meta))).toBe(false);
  });

  test('the memory is bounded: past its size it starts over', () => {
    const accepted = new AcceptedEnvelopes(2);
    accepted.add('a');
    accepted.add('b');
    accepted.add('c');
    expect(accepted.has('a')).toBe(false);
    expect(accepted.has('c')).toBe(true);
  });
});
