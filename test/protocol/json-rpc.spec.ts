import {
  classifyJsonRpc,
  isJsonRpcId,
  isJsonRpcNotification,
  isJsonRpcRequest,
  isJsonRpcResponse,
  jsonRpcError,
} from '../../src/protocol/json-rpc.js';

describe('classifyJsonRpc', () => {
  test.each([
    [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'request'],
    [{ jsonrpc: '2.0', id: 'abc', method: 'tools/call', params: { name: 'x' } }, 'request'],
    [{ jsonrpc: '2.0', id: 0, method: 'ping', params: [] }, 'request'],
    [{ id: 1, method: 'ping' }, 'request'],
    [{ jsonrpc: '2.0', method: 'notifications/initialized' }, 'notification'],
    [{ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } }, 'notification'],
    [{ jsonrpc: '2.0', method: 'x', id: undefined }, 'notification'],
    [{ jsonrpc: '2.0', id: 1, result: {} }, 'response'],
    [{ jsonrpc: '2.0', id: 'a', result: null }, 'response'],
    [{ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no' } }, 'response'],
    [{ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }, 'response'],
  ])('%j is a %s', (message, kind) => {
    expect(classifyJsonRpc(message)).toBe(kind);
  });

  test.each([
    null,
    undefined,
    'request',
    42,
    [{ jsonrpc: '2.0', id: 1, method: 'x' }],
    {},
    { jsonrpc: '2.0' },
    { jsonrpc: '2.0', id: 1 },
    { jsonrpc: '2.0', id: 1, method: 7 },
    { jsonrpc: '2.0', id: { x: 1 }, method: 'x' },
    { jsonrpc: '2.0', id: null, method: 'x' },
    { jsonrpc: '2.0', id: true, method: 'x' },
    { jsonrpc: '2.0', id: Number.NaN, method: 'x' },
    { jsonrpc: '2.0', id: 1, method: 'x', params: 'oops' },
    { jsonrpc: '2.0', id: 1, error: 'oops' },
    { jsonrpc: '2.0', id: { x: 1 }, result: {} },
    { jsonrpc: '2.0', result: {} },
  ])('%j is not a JSON-RPC message', (message) => {
    expect(classifyJsonRpc(message)).toBeUndefined();
  });

  test('type guards follow the classification', () => {
    const request = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const notification = { jsonrpc: '2.0', method: 'ping' };
    const response = { jsonrpc: '2.0', id: 1, result: {} };
    expect([isJsonRpcRequest(request), isJsonRpcNotification(request), isJsonRpcResponse(request)]).toEqual([true, false, false]);
    expect([isJsonRpcRequest(notification), isJsonRpcNotification(notification), isJsonRpcResponse(notification)]).toEqual([
      false,
      true,
      false,
    ]);
    expect([isJsonRpcRequest(response), isJsonRpcNotification(response), isJsonRpcResponse(response)]).toEqual([false, false, true]);
  });
});

test('isJsonRpcId accepts strings and finite numbers only', () => {
  expect([1, 0, -3, 'x', ''].map(isJsonRpcId)).toEqual([true, true, true, true, true]);
  expect([null, undefined, Infinity, Number.NaN, {}, [], true].map(isJsonRpcId)).toEqual([false, false, false, false, false, false, false]);
});

test('jsonRpcError builds an error response, with data only when given', () => {
  expect(jsonRpcError(3, -32001, 'timed out')).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32001, message: 'timed out' } });
  expect(jsonRpcError(null, -32700, 'bad', { at: 1 })).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: -32700, message: 'bad', data: { at: 1 } },
  });
});
