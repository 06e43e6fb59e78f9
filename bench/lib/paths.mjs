/**
 * The paths under test. Each setup starts its processes and returns a target:
 *   { label, gatewayPid?, pathPids(): pid[], run(c, durationS), prepare?(c), release?(c), check(), stop() }
 * run() returns the shape of load.mjs's httpLoad / callLoad.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { callLoad, httpLoad } from './load.mjs';
import { freePort, startProcess, waitForHttp } from './proc.mjs';
import { jsonRpcFrom } from './resume-load.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
/**
 * Where the gateway's dist/ comes from: this checkout, or BENCH_GATEWAY_ROOT (another built checkout,
 * e.g. an unmerged branch or a before/after comparison). The tunnel CLI always comes from this one.
 */
export const GATEWAY_ROOT = process.env.BENCH_GATEWAY_ROOT ? process.env.BENCH_GATEWAY_ROOT.replace(/\/?$/, '/') : ROOT;
const NODE = process.execPath;
export const ECHO_TEXT = 'bench';
export const CALL_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text: ECHO_TEXT } },
});
const CALL_PARAMS = { name: 'echo', arguments: { text: ECHO_TEXT } };
/**
 * Paths 2 and 3 are driven like the MCP paths 4h and 4s, with a fresh JSON-RPC id in every request
 * (autocannon's `[<id>]` replacement, which rebuilds each request and about doubles autocannon's
 * CPU), so that a ratio between them compares the servers under one load generator, not two.
 * BENCH_FRESH_IDS=0: the same body every time (how paths 2 and 3 were driven before 2026-11-29).
 */
const FRESH_IDS = process.env.BENCH_FRESH_IDS !== '0';
const FRESH_ID_BODY = JSON.stringify({ jsonrpc: '2.0', id: '[<id>]', method: 'tools/call', params: CALL_PARAMS });
const plainLoad = (options) =>
  httpLoad(FRESH_IDS ? { ...options, body: FRESH_ID_BODY, idReplacement: true } : { ...options, body: CALL_BODY });

export function echoCommand(impl) {
  return [NODE, `${ROOT}bench/echo-server.mjs`, '--impl', impl];
}

/** Every descendant pid of a process (children of all its threads, recursively). */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean).map(Number)) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** Stops a process, then SIGKILLs whatever it left behind. */
export async function stopTree(proc) {
  if (!proc) return;
  const kids = descendants(proc.pid);
  await proc.stop();
  await sleep(100);
  for (const pid of kids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Whether the real tunnel client CLI has landed on this branch and is built. */
export function cliAvailable() {
  if (!existsSync(`${ROOT}dist/client/cli.js`)) return false;
  try {
    execFileSync('git', ['ls-files', '--error-unmatch', 'src/client/cli.ts'], { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts a tunnel client for the echo server; `kind` is "cli" (dist/client/cli.js) or "bench" (bench/stdio-tunnel.mjs). */
export async function startTunnel(kind, { wsUrl, token, name, impl }) {
  const echo = echoCommand(impl);
  if (kind === 'cli') {
    const args = [
      `${ROOT}dist/client/cli.js`,
      '--local-stdio',
      echo.map((w) => JSON.stringify(w)).join(' '),
      '--gateway',
      wsUrl,
      '--name',
      name,
      '--log-level',
      'error',
    ];
    if (token) args.push('--token', token);
    // Readiness is seen from the other side (waitForSession, or the relay forwarding a call).
    return startProcess(NODE, args);
  }
  const args = [`${ROOT}bench/stdio-tunnel.mjs`, '--gateway', wsUrl, '--name', name];
  if (token) args.push('--token', token);
  return startProcess(NODE, [...args, '--', ...echo], { ready: /registered (\S+)/ });
}

/** Starts the gateway (node dist/main.js, from `root`: GATEWAY_ROOT unless said); resolves once /health answers. */
export async function startGateway({ secret, env = {}, nodeArgs = [], probe = false, root = GATEWAY_ROOT }) {
  const port = await freePort();
  const args = [...nodeArgs];
  if (probe) args.push('--expose-gc', '--import', `${ROOT}bench/lib/gateway-probe.mjs`);
  const proc = await startProcess(NODE, [...args, `${root}dist/main.js`], {
    cwd: root,
    env: { JWT_SECRET: secret, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ...env },
    ipc: probe,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/health`);
  } catch (err) {
    await proc.stop();
    throw new Error(`gateway did not start: ${err.message}\n${proc.stderr}`);
  }
  return { proc, port, base, wsUrl: `ws://127.0.0.1:${port}/reverse-proxy/ws` };
}

/** Asks a probe-loaded gateway for process.memoryUsage() after a full GC. */
export function gatewayMemory(proc) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.type !== 'mem') return;
      proc.child.off('message', onMessage);
      resolve(m);
    };
    proc.child.on('message', onMessage);
    proc.child.send({ cmd: 'mem' });
  });
}

/** Polls the admin API until a ready session with this server name exists; returns its id. */
export async function waitForSession(base, token, name, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
    const { sessions } = await res.json();
    const s = sessions.find((x) => x.name === name && x.state === 'ready');
    if (s) return s.session_id;
    await sleep(50);
  }
  throw new Error(`no ready session named ${name} within ${timeoutMs} ms`);
}

export async function checkHttp(url, headers) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: CALL_BODY });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status !== 200 || json?.id !== 1 || json?.result?.content?.[0]?.text !== ECHO_TEXT) {
    throw new Error(`unexpected answer from ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
}

function checkCall(result) {
  if (result?.content?.[0]?.text !== ECHO_TEXT) throw new Error(`unexpected tools/call result ${JSON.stringify(result).slice(0, 200)}`);
}

/** Path 1: an SDK client on the stdio server itself. c callers share the one client. */
export async function directPath({ impl }) {
  const [command, ...args] = echoCommand(impl);
  const transport = new StdioClientTransport({ command, args, stderr: 'inherit' });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  const serverPid = transport.pid;
  return {
    gatewayPid: undefined,
    pathPids: () => [serverPid],
    async check() {
      checkCall(await client.callTool(CALL_PARAMS));
    },
    run: (c, durationS) => callLoad({ callers: c, durationS, call: () => client.callTool(CALL_PARAMS) }),
    async stop() {
      await client.close();
    },
  };
}

/** Path 2: bench/raw-relay.mjs with a tunnel client behind it; autocannon POSTs to it. */
export async function rawRelayPath({ impl, tunnelKind }) {
  const port = await freePort();
  const relay = await startProcess(NODE, [`${ROOT}bench/raw-relay.mjs`, String(port)], { ready: /listening (\d+)/ });
  const tunnel = await startTunnel(tunnelKind, { wsUrl: `ws://127.0.0.1:${port}/reverse-proxy/ws`, name: 'echo', impl });
  const url = `http://127.0.0.1:${port}/`;
  // The relay has no session API: wait until it forwards a call.
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      await checkHttp(url, {});
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
  return {
    gatewayPid: relay.pid,
    pathPids: () => [relay.pid, tunnel.pid, ...descendants(tunnel.pid)],
    check: () => checkHttp(url, {}),
    run: (c, durationS) => plainLoad({ url, connections: c, durationS }),
    async stop() {
      await stopTree(tunnel);
      await relay.stop();
    },
  };
}

/** Path 3: the gateway's POST /reverse-proxy/sessions/:id/request, auth on. */
export async function gatewayRestPath({ impl, tunnelKind, secret, token, nodeArgs = [], probe = false, root = GATEWAY_ROOT }) {
  const gw = await startGateway({ secret, nodeArgs, probe, root });
  const tunnel = await startTunnel(tunnelKind, { wsUrl: gw.wsUrl, token, name: 'echo', impl });
  const sessionId = await waitForSession(gw.base, token, 'echo');
  const url = `${gw.base}/reverse-proxy/sessions/${sessionId}/request`;
  const headers = { Authorization: `Bearer ${token}` };
  await checkHttp(url, headers);
  return {
    gateway: gw,
    gatewayPid: gw.proc.pid,
    pathPids: () => [gw.proc.pid, tunnel.pid, ...descendants(tunnel.pid)],
    check: () => checkHttp(url, headers),
    run: (c, durationS) => plainLoad({ url, headers, connections: c, durationS }),
    async stop() {
      await stopTree(tunnel);
      await gw.proc.stop();
    },
  };
}

/**
 * c SDK clients (one MCP session each) on a Streamable HTTP endpoint, each calling in a closed loop.
 * Clients are connected in prepare(c), outside the measured window.
 */
function mcpClientsTarget({ url, headers = {}, gatewayPid, extraPids }) {
  let clients = [];
  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
    const client = new Client({ name: 'bench', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  };
  const release = async () => {
    for (const { client, transport } of clients) {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
    clients = [];
  };
  return {
    gatewayPid,
    pathPids: () => [gatewayPid, ...descendants(gatewayPid), ...extraPids()],
    async prepare(c) {
      await release();
      for (let i = 0; i < c; i += 16) {
        clients.push(...(await Promise.all(Array.from({ length: Math.min(16, c - i) }, connect))));
      }
    },
    release,
    async check() {
      const { client, transport } = await connect();
      checkCall(await client.callTool(CALL_PARAMS));
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
    run: (c, durationS) => callLoad({ callers: c, durationS, call: (i) => clients[i].client.callTool(CALL_PARAMS) }),
  };
}

/**
 * The same Streamable HTTP endpoint driven without the SDK client: one MCP session opened by hand,
 * then c keep-alive connections POSTing tools/call in it with autocannon (a fresh JSON-RPC id per
 * request) and reading each SSE answer to its end. The server does all the work it does for an SDK
 * client; the load generator costs far less, so this shows what the server itself can serve.
 */
function mcpHttpTarget({ url, headers = {}, gatewayPid, extraPids }) {
  const base = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers };
  let sessionHeaders;
  const post = async (message, extra = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { ...base, ...extra }, body: JSON.stringify(message) });
    const text = await res.text();
    return { res, text };
  };
  const open = async () => {
    const { res, text } = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench-http', version: '1.0.0' } },
    });
    const sessionId = res.headers.get('mcp-session-id');
    if (res.status !== 200 || !sessionId) throw new Error(`initialize on ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
    sessionHeaders = { 'mcp-session-id': sessionId, 'mcp-protocol-version': jsonRpcFrom(text).result.protocolVersion };
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionHeaders);
  };
  const body = JSON.stringify({ jsonrpc: '2.0', id: '[<id>]', method: 'tools/call', params: CALL_PARAMS });
  return {
    gatewayPid,
    pathPids: () => [gatewayPid, ...descendants(gatewayPid), ...extraPids()],
    async prepare() {
      if (!sessionHeaders) await open();
    },
    async check() {
      if (!sessionHeaders) await open();
      const { res, text } = await post({ jsonrpc: '2.0', id: 'check', method: 'tools/call', params: CALL_PARAMS }, sessionHeaders);
      if (res.status !== 200) throw new Error(`tools/call on ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
      checkCall(jsonRpcFrom(text).result);
    },
    run: (c, durationS) => httpLoad({ url, headers: { ...base, ...sessionHeaders }, body, idReplacement: true, connections: c, durationS }),
    async release() {
      if (sessionHeaders) await fetch(url, { method: 'DELETE', headers: { ...base, ...sessionHeaders } }).catch(() => undefined);
      sessionHeaders = undefined;
    },
  };
}

/**
 * The stateless 2026-07-28 revision of the same endpoint, driven by autocannon: no session, every POST
 * carries its `_meta` envelope and the Mcp-Method / Mcp-Name headers, a fresh JSON-RPC id each.
 */
function mcpStatelessTarget({ url, headers = {}, gatewayPid, extraPids }) {
  const revision = '2026-07-28';
  const requestHeaders = {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': revision,
    'mcp-method': 'tools/call',
    'mcp-name': CALL_PARAMS.name,
    ...headers,
  };
  const envelope = { 'io.modelcontextprotocol/protocolVersion': revision, 'io.modelcontextprotocol/clientCapabilities': {} };
  const message = (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...CALL_PARAMS, _meta: envelope } });
  const body = JSON.stringify(message('[<id>]'));
  return {
    gatewayPid,
    pathPids: () => [gatewayPid, ...descendants(gatewayPid), ...extraPids()],
    async prepare() {},
    async check() {
      const res = await fetch(url, { method: 'POST', headers: requestHeaders, body: JSON.stringify(message('check')) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`stateless tools/call on ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
      checkCall(jsonRpcFrom(text).result);
    },
    run: (c, durationS) => httpLoad({ url, headers: requestHeaders, body, idReplacement: true, connections: c, durationS }),
    async release() {},
  };
}

/** The load generator of an MCP endpoint: c SDK clients ('sdk'), autocannon in one session ('http'), or stateless 2026-07-28 requests ('stateless'). */
export const mcpTarget = (loadgen) =>
  loadgen === 'http' ? mcpHttpTarget : loadgen === 'stateless' ? mcpStatelessTarget : mcpClientsTarget;

/**
 * Path 4: the gateway's MCP Streamable HTTP endpoint. Returns {missing: reason} when the endpoint
 * is not on this branch yet.
 */
export async function gatewayMcpPath({
  impl,
  tunnelKind,
  secret,
  token,
  nodeArgs = [],
  probe = false,
  loadgen = 'sdk',
  root = GATEWAY_ROOT,
}) {
  if (!existsSync(`${root}dist/mcp`))
    return { missing: 'the MCP Streamable HTTP endpoint (src/mcp, /servers/:name/mcp) is not merged into main yet' };
  const gw = await startGateway({ secret, nodeArgs, probe, root });
  const tunnel = await startTunnel(tunnelKind, { wsUrl: gw.wsUrl, token, name: 'echo', impl });
  await waitForSession(gw.base, token, 'echo');
  const url = `${gw.base}/servers/echo/mcp`;
  const initialize = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '0' } },
    }),
  });
  await initialize.body?.cancel();
  if (initialize.status === 404) {
    await stopTree(tunnel);
    await gw.proc.stop();
    return { missing: `POST /servers/echo/mcp answers 404 on this build` };
  }
  const target = mcpTarget(loadgen)({
    url,
    headers: { Authorization: `Bearer ${token}` },
    gatewayPid: gw.proc.pid,
    extraPids: () => [tunnel.pid, ...descendants(tunnel.pid)],
  });
  target.gateway = gw;
  await target.check();
  target.stop = async () => {
    await target.release();
    await stopTree(tunnel);
    await gw.proc.stop();
  };
  return target;
}

/** Path 5: supergateway, stdio -> Streamable HTTP, stateful (one child server per MCP session). */
export async function supergatewayPath({ impl, loadgen = 'sdk' }) {
  const port = await freePort();
  const proc = await startProcess(
    NODE,
    [
      `${ROOT}node_modules/supergateway/dist/index.js`,
      '--stdio',
      echoCommand(impl).join(' '),
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
    ],
    {},
  );
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForHttp(url);
  const target = mcpTarget(loadgen)({ url, gatewayPid: proc.pid, extraPids: () => [] });
  await target.check();
  target.stop = async () => {
    await target.release();
    await stopTree(proc);
  };
  return target;
}

export function supergatewayVersion() {
  return JSON.parse(readFileSync(`${ROOT}node_modules/supergateway/package.json`, 'utf8')).version;
}

/**
 * Path 4c: the SDK client on an endpoint that does no work (bench/null-mcp-server.mjs): the most
 * that the load generator of paths 4 and 5 can drive on this machine.
 */
export async function clientCeilingPath() {
  const port = await freePort();
  const proc = await startProcess(NODE, [`${ROOT}bench/null-mcp-server.mjs`, String(port)], {});
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForHttp(url);
  const target = mcpClientsTarget({ url, gatewayPid: proc.pid, extraPids: () => [] });
  await target.check();
  target.stop = async () => {
    await target.release();
    await stopTree(proc);
  };
  return target;
}
