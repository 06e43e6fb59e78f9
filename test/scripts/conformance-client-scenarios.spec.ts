/**
 * scripts/conformance-client-scenarios.mjs: which client scenarios of the official suite the gate
 * runs against the tunnel CLI, which it skips and why, and what the driver checks in the answers.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The module, untyped (a script, not part of the TypeScript program). */
let m: any;
beforeAll(async () => {
  m = await import(pathToFileURL(resolve(process.cwd(), 'scripts/conformance-client-scenarios.mjs')).href);
});

/** What `conformance list --client` printed for 0.1.16, shortened. */
const LIST = `Client scenarios (test against a client):
  - initialize [2025-06-18,2025-11-25]
  - tools_call [2025-06-18,2025-11-25]
  - elicitation-sep1034-client-defaults [2025-11-25]
  - sse-retry [2025-11-25]
  - auth/metadata-default [2025-11-25]
  - auth/client-credentials-jwt [extension]
`;

test('reads the scenario names of the suite’s listing', () => {
  expect(m.parseClientList(LIST)).toEqual([
    'initialize',
    'tools_call',
    'elicitation-sep1034-client-defaults',
    'sse-retry',
    'auth/metadata-default',
    'auth/client-credentials-jwt',
  ]);
});

test('runs the scenarios that apply, skips the OAuth ones with a reason, and names a scenario it does not know', () => {
  const { run, skipped, unknown } = m.classifyClientScenarios([...m.parseClientList(LIST), 'session-lifecycle']);
  expect(run).toEqual(['initialize', 'tools_call', 'elicitation-sep1034-client-defaults', 'sse-retry']);
  expect(skipped.map((s: any) => s.name)).toEqual(['auth/metadata-default', 'auth/client-credentials-jwt']);
  expect(skipped[0].why).toMatch(/OAuth/);
  expect(unknown).toEqual(['session-lifecycle']);
  // A name that only looks like an action (inherited from Object) is not one.
  expect(m.classifyClientScenarios(['toString']).unknown).toEqual(['toString']);
});

test('every timed scenario is one that runs', () => {
  for (const name of m.TIMED_CLIENT_SCENARIOS) expect(Object.keys(m.CLIENT_ACTIONS)).toContain(name);
});

/** A stand-in for the SDK client: records calls, answers tools/call with the given text. */
function fakeClient(text: string | undefined, tools = ['add_numbers']) {
  const calls: any[] = [];
  return {
    calls,
    listTools: async () => ({ tools: tools.map((name) => ({ name })) }),
    callTool: async (params: any) => {
      calls.push(params);
      return { content: text === undefined ? [] : [{ type: 'text', text }] };
    },
  };
}

test('tools_call adds 5 and 3 and accepts only the right sum', async () => {
  const right = fakeClient('The sum of 5 and 3 is 8');
  expect(await m.CLIENT_ACTIONS.tools_call(right)).toBeUndefined();
  expect(right.calls).toEqual([{ name: 'add_numbers', arguments: { a: 5, b: 3 } }]);
  expect(await m.CLIENT_ACTIONS.tools_call(fakeClient('The sum of 5 and 3 is 9'))).toMatch(/unexpected answer/);
  expect(await m.CLIENT_ACTIONS.tools_call(fakeClient('x', []))).toMatch(/not listed/);
});

test('the elicitation and SSE retry scenarios call their tool and check its answer', async () => {
  const elicit = fakeClient('Elicitation completed: {"name":"John Doe"}');
  expect(await m.CLIENT_ACTIONS['elicitation-sep1034-client-defaults'](elicit)).toBeUndefined();
  expect(elicit.calls[0].name).toBe('test_client_elicitation_defaults');
  expect(await m.CLIENT_ACTIONS['elicitation-sep1034-client-defaults'](fakeClient(undefined))).toMatch(/unexpected answer/);

  const retry = fakeClient('Reconnection test completed successfully');
  expect(await m.CLIENT_ACTIONS['sse-retry'](retry)).toBeUndefined();
  expect(retry.calls[0].name).toBe('test_reconnection');
  expect(await m.CLIENT_ACTIONS['sse-retry'](fakeClient('Error: stream closed'))).toMatch(/unexpected answer/);
});
