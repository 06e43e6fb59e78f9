/**
 * The cheapest local MCP server the tunnel client takes: an in-process LocalServer (the interface of
 * src/client/local-server.ts, injected as TunnelClient's createLocalServer) with one tool,
 * `counted {key, ms}`, which records one execution of `key` and answers `key` after `ms` ms.
 * Executions are counted in a map shared by every server of the process, so a request that
 * reached any local server twice shows up as a count of 2.
 */

const TOOL = {
  name: 'counted',
  description: 'Records one execution of key, answers key after ms milliseconds',
  inputSchema: { type: 'object', properties: { key: { type: 'string' }, ms: { type: 'number' } }, required: ['key'] },
};
/** Longest `ms` honoured: a peer cannot park calls here for long. */
const MAX_MS = 10_000;

/** Returns a LocalServerFactory whose servers count executions in `executions` (Map key -> count). */
export function countedServerFactory(executions, name) {
  return () => new CountedLocalServer(executions, name);
}

class CountedLocalServer {
  protocol = 'stdio';
  label = 'bench counted server (in-process)';
  pid = undefined;
  onmessage;
  onoutput;
  onexit;
  #timers = new Set();
  #stopped = false;

  constructor(executions, name) {
    this.executions = executions;
    this.name = name;
  }

  async start() {}

  setProtocolVersion() {}

  /** Handles one JSON-RPC message; answers arrive later on onmessage, as from a real server. */
  async send(message) {
    if (this.#stopped) throw new Error('the server is stopped');
    if (message.method === undefined || message.id === undefined) return; // notifications, answers
    const { id, method, params } = message;
    if (method === 'initialize') {
      this.#answer({
        id,
        result: {
          protocolVersion: params?.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: this.name, version: '1.0.0' },
        },
      });
    } else if (method === 'tools/list') this.#answer({ id, result: { tools: [TOOL] } });
    else if (method === 'ping') this.#answer({ id, result: {} });
    else if (method === 'tools/call' && params?.name === 'counted' && typeof params.arguments?.key === 'string') {
      const key = params.arguments.key;
      this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
      const ms = Math.min(MAX_MS, Math.max(0, Number(params.arguments.ms) || 0));
      this.#answer({ id, result: { content: [{ type: 'text', text: key }] } }, ms);
    } else this.#answer({ id, error: { code: -32601, message: `unknown method or tool: ${method}` } });
  }

  async stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.onexit?.({ code: 0, signal: null, reason: 'was stopped', stderrTail: [] });
  }

  #answer(body, ms = 0) {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) this.onmessage?.({ jsonrpc: '2.0', ...body });
    }, ms);
    this.#timers.add(timer);
  }
}
