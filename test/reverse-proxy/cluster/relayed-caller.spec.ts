import { jest } from '@jest/globals';
import { RelayedCaller, type RelayedCallerLink } from '../../../src/reverse-proxy/cluster/relayed-caller.js';

function link() {
  return { progress: jest.fn<RelayedCallerLink['progress']>(), ask: jest.fn<RelayedCallerLink['ask']>() };
}

test("carries the real caller's key and replica", () => {
  const caller = new RelayedCaller('mcp-1', 'B', [], link());
  expect([caller.key, caller.replica]).toEqual(['mcp-1', 'B']);
});

test('progress goes back over the link, as the session restored it', () => {
  const l = link();
  const notification = { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progressToken: 'tok', progress: 1 } };
  new RelayedCaller('k', 'B', [], l).onProgress(notification);
  expect(l.progress).toHaveBeenCalledWith(notification);
  expect(l.ask).not.toHaveBeenCalled();
});

test('answers only what the real caller declared', () => {
  const caller = new RelayedCaller('k', 'B', ['roots/list', 'ping'], link());
  expect(['roots/list', 'ping', 'sampling/createMessage', 'elicitation/create'].map((m) => caller.canAnswer(m))).toEqual([
    true,
    true,
    false,
    false,
  ]);
  expect(new RelayedCaller('k', 'B', [], link()).canAnswer('ping')).toBe(false);
});

test('a server request goes to the real caller over the link', () => {
  const l = link();
  const request = { jsonrpc: '2.0' as const, id: 'srv-1', method: 'roots/list' };
  new RelayedCaller('k', 'B', ['roots/list'], l).ask(request);
  expect(l.ask).toHaveBeenCalledWith(request);
  expect(l.progress).not.toHaveBeenCalled();
});
