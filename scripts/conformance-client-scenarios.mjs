/**
 * Which CLIENT scenarios of the official MCP conformance suite apply to the tunnel CLI, and what the
 * MCP client behind the gateway does in each. In `--local-streamable-http <url>` mode the CLI is an
 * MCP client of a local Streamable HTTP server: the suite's test server stands in for that server,
 * and scripts/conformance-client.mjs drives the CLI with these actions. Data only (no SDK import), so
 * the gate (scripts/conformance.mjs) and its spec can read it cheaply.
 */

/** What the driver prints on stdout when its calls got the answers expected (the suite keeps stdout per scenario). */
export const DRIVER_OK = 'conformance-client: the calls were answered as expected';

/** First text content of a tool result, or undefined. */
const textOf = (result) => result?.content?.find((c) => c.type === 'text')?.text;

/** Undefined when a tool's text answer is the expected one, else what went wrong. */
const expectText = (got, ok) => (ok(got) ? undefined : `unexpected answer: ${JSON.stringify(got)}`);

/**
 * Applicable scenarios: what the MCP client of `/servers/<name>/mcp` does, given an SDK `Client`
 * connected there; each resolves to undefined when the answers are right, else to what was wrong.
 */
export const CLIENT_ACTIONS = {
  // The suite checks the CLI's own initialize (version, clientInfo); the gateway answers the MCP client's.
  initialize: async () => undefined,
  tools_call: async (client) => {
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === 'add_numbers')) return `add_numbers is not listed: ${JSON.stringify(tools.map((t) => t.name))}`;
    const result = await client.callTool({ name: 'add_numbers', arguments: { a: 5, b: 3 } });
    return expectText(textOf(result), (t) => t === 'The sum of 5 and 3 is 8');
  },
  // The server's elicitation/create crosses the tunnel to the MCP client, which accepts with its defaults applied.
  'elicitation-sep1034-client-defaults': async (client) => {
    const result = await client.callTool({ name: 'test_client_elicitation_defaults', arguments: {} });
    return expectText(textOf(result), (t) => typeof t === 'string' && t.startsWith('Elicitation completed'));
  },
  // The server ends the call's SSE stream after a priming event; the CLI resumes with GET + Last-Event-ID after `retry`.
  'sse-retry': async (client) => {
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    return expectText(textOf(result), (t) => t === 'Reconnection test completed successfully');
  },
};

/** Scenarios whose checks measure time (sse-retry: the reconnection delay against `retry`): run alone. */
export const TIMED_CLIENT_SCENARIOS = ['sse-retry'];

/** Scenarios that do not apply, by name, and why (docs/mcp.md, "Conformance", says the same). */
export const NOT_APPLICABLE = [
  {
    pattern: /^auth\//,
    why: 'OAuth from the CLI to its local server: the CLI has no OAuth client for it (its token is for the gateway, never sent to the local server)',
  },
];

/** Scenario names from the output of `conformance list --client`. */
export function parseClientList(stdout) {
  return [...stdout.matchAll(/^\s*-\s+(\S+)/gm)].map((m) => m[1]);
}

/**
 * Splits the suite's client scenarios into those to run, those that do not apply (with why), and
 * unknown ones: a scenario a newer suite adds is neither run nor skipped silently.
 */
export function classifyClientScenarios(names) {
  const run = [];
  const skipped = [];
  const unknown = [];
  for (const name of names) {
    const rule = NOT_APPLICABLE.find((r) => r.pattern.test(name));
    if (Object.hasOwn(CLIENT_ACTIONS, name)) run.push(name);
    else if (rule) skipped.push({ name, why: rule.why });
    else unknown.push(name);
  }
  return { run, skipped, unknown };
}
