import { CALL_FAILURES, type CallFailure } from '../../../src/reverse-proxy/tunnel/call-error.js';
import { CallError as ReExported } from '../../../src/reverse-proxy/tunnel/pending-calls.js';
import { CallError } from '../../../src/reverse-proxy/tunnel/call-error.js';

// The one table of what a failed tunnel call becomes on each door; these are the statuses and codes callers see.
test.each<[CallFailure, number, number, number, unknown]>([
  ['timeout', 504, -32001, -32001, undefined],
  ['closed', 502, -32002, -32000, { reason: 'server-not-connected' }],
  ['cancelled', 502, -32002, -32000, { reason: 'server-not-connected' }],
  ['busy', 503, -32003, -32003, undefined],
  ['overloaded', 503, -32003, -32003, undefined],
  ['shutdown', 503, -32002, -32000, { reason: 'server-not-connected' }],
  ['unreachable', 503, -32003, -32003, undefined],
])('%s: HTTP %i, JSON-RPC %i (stateless 2026-07-28: %i)', (reason, httpStatus, jsonRpcCode, statelessCode, data) => {
  expect(CALL_FAILURES[reason]).toEqual({
    httpStatus,
    jsonRpcCode,
    stateless: data === undefined ? { code: statelessCode } : { code: statelessCode, data },
  });
});

test('pending-calls.ts still exports the same CallError', () => {
  expect(ReExported).toBe(CallError);
});
