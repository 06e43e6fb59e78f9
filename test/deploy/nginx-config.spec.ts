/**
 * The ingress config shipped for docker compose (deploy/nginx/nginx.conf). Three checks: its text holds the
 * settings the gateway depends on (so deleting one fails here, not in production); the real `nginx -t`
 * accepts it; and the real nginx, running it, proxies to two stand-in gateways the way the cluster needs
 * (round robin over kept-alive connections, SSE unbuffered both ways, WebSocket upgrades, no second try of
 * a POST that reached a gateway). nginx must be installed (.ci/run installs it); without it this fails.
 *
 * The compose service names (gateway-1, gateway-2) do not resolve here and `nginx -t` resolves upstream
 * hosts, so a copy with loopback ports in their place is what nginx reads, under a temp prefix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import { createConnection, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { CONFIG_DEFAULTS } from '../../src/config/app-config.js';

const CONFIG_PATH = resolve(process.cwd(), 'deploy/nginx/nginx.conf');
const SHIPPED = readFileSync(CONFIG_PATH, 'utf8');
const UPSTREAM_HOSTS = ['gateway-1:3000', 'gateway-2:3000'];
/** Short: everything here is local, and a buffered stream must fail the test rather than hang it. */
const STEP_TIMEOUT_MS = 3000;

// ---------------------------------------------------------------------------------------------------
// A small nginx config parser: enough to read directives, blocks and their inheritance.

interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') i++;
        value += text[i] ?? '';
        i++;
      }
      i++;
      tokens.push(value);
    } else {
      let value = '';
      while (i < text.length && !/[\s{};]/.test(text[i])) value += text[i++];
      tokens.push(value);
    }
  }
  return tokens;
}

function parseNginx(text: string): Directive[] {
  const tokens = tokenize(text);
  let pos = 0;
  const parseBlock = (nested: boolean): Directive[] => {
    const directives: Directive[] = [];
    while (pos < tokens.length) {
      if (tokens[pos] === '}') {
        if (!nested) throw new Error('unbalanced "}" in nginx.conf');
        pos++;
        return directives;
      }
      const words: string[] = [];
      while (pos < tokens.length && !['{', '}', ';'].includes(tokens[pos])) words.push(tokens[pos++]);
      const end = tokens[pos++];
      const [name, ...args] = words;
      if (name === undefined) throw new Error('empty directive in nginx.conf');
      if (end === '{') directives.push({ name, args, block: parseBlock(true) });
      else if (end === ';') directives.push({ name, args });
      else throw new Error(`directive "${name}" is not terminated`);
    }
    if (nested) throw new Error('unclosed block in nginx.conf');
    return directives;
  };
  return parseBlock(false);
}

function blocksNamed(directives: Directive[], name: string): Directive[] {
  return directives.filter((d) => d.name === name);
}

function only(directives: Directive[], name: string): Directive {
  const found = blocksNamed(directives, name);
  if (found.length !== 1) throw new Error(`expected one "${name}", found ${found.length}`);
  return found[0];
}

function allDirectives(directives: Directive[]): Directive[] {
  return directives.flatMap((d) => [d, ...allDirectives(d.block ?? [])]);
}

/** The location nginx picks for a path: exact, then `^~` prefix, then regexes in order, then the longest prefix. */
function locationFor(server: Directive[], path: string): Directive | undefined {
  const locations = blocksNamed(server, 'location');
  const exact = locations.find((l) => l.args[0] === '=' && l.args[1] === path);
  if (exact) return exact;
  const prefixes = locations
    .filter((l) => l.args.length === 1 || l.args[0] === '^~')
    .filter((l) => path.startsWith(l.args[l.args.length - 1]))
    .sort((a, b) => b.args[b.args.length - 1].length - a.args[a.args.length - 1].length);
  if (prefixes[0]?.args[0] === '^~') return prefixes[0];
  const regex = locations.find(
    (l) => (l.args[0] === '~' || l.args[0] === '~*') && new RegExp(l.args[1], l.args[0] === '~*' ? 'i' : '').test(path),
  );
  return regex ?? prefixes[0];
}

/** nginx inheritance: a directive set at an inner level replaces every one of its name from outer levels. */
function effective(levels: Directive[][], name: string): Directive[] {
  for (const level of levels) {
    const found = blocksNamed(level, name);
    if (found.length > 0) return found;
  }
  return [];
}

/** nginx time: `1h`, `30m`, `3600s`, `500ms`, `1h30m`; no unit means seconds. */
function seconds(value: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 };
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d|w|M|y)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) throw new Error(`not an nginx time: ${value}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2] ?? 's'], 0);
}

/** nginx size: `4m`, `512k`, `1g`, bytes without a unit. */
function bytes(value: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (!match) throw new Error(`not an nginx size: ${value}`);
  return Number(match[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[match[2].toLowerCase()];
}

describe('deploy/nginx/nginx.conf: the settings the gateway depends on', () => {
  const config = parseNginx(SHIPPED);
  const http = only(config, 'http').block!;
  const server = only(http, 'server').block!;
  const upstream = only(http, 'upstream');

  it('balances round robin over both replicas, with no stickiness, on kept-alive connections', () => {
    expect(upstream.args).toEqual(['mcp_gateways']);
    expect(blocksNamed(upstream.block!, 'server').map((s) => s.args[0])).toEqual(UPSTREAM_HOSTS);
    // Any replica serves any call: pinning clients to one would only unbalance the replicas.
    const sticky = allDirectives(config).filter((d) => ['ip_hash', 'hash', 'sticky'].includes(d.name));
    expect(sticky).toEqual([]);
    expect(Number(only(upstream.block!, 'keepalive').args[0])).toBeGreaterThan(0);
    // nginx must drop an idle connection before the gateway does, or a request sent on it as it closes fails.
    const idle = seconds(only(upstream.block!, 'keepalive_timeout').args[0]);
    expect(idle * 1000).toBeLessThan(Number(CONFIG_DEFAULTS.HTTP_KEEPALIVE_TIMEOUT_MS));
  });

  it('maps $http_upgrade to a Connection header: upgrade for WebSocket, none otherwise (keepalive)', () => {
    const map = blocksNamed(http, 'map').find((m) => m.args[0] === '$http_upgrade');
    expect(map?.args).toEqual(['$http_upgrade', '$connection_upgrade']);
    const entries = Object.fromEntries(map!.block!.map((d) => [d.name, d.args[0]]));
    expect(entries).toEqual({ default: 'upgrade', '': '' });
  });

  it('keeps gzip off, since compressing an event stream holds events back', () => {
    expect(effective([server, http], 'gzip').map((d) => d.args[0])).not.toContain('on');
  });

  it('accepts bodies up to the gateway limit (MAX_BODY_BYTES)', () => {
    const limit = effective([server, http], 'client_max_body_size');
    expect(limit).toHaveLength(1);
    expect(bytes(limit[0].args[0])).toBe(Number(CONFIG_DEFAULTS.MAX_BODY_BYTES));
  });

  const paths = [
    '/reverse-proxy/ws',
    '/reverse-proxy',
    '/reverse-proxy/sessions',
    '/reverse-proxy/sse/0123abcd',
    '/servers/everything/mcp',
    '/servers/everything/sse',
    '/servers/everything/messages',
    '/servers',
    '/ready',
  ];

  it.each(paths)('proxies %s unbuffered, over HTTP/1.1, with long timeouts, WebSocket upgrade and forwarded headers', (path) => {
    const location = locationFor(server, path);
    expect(location).toBeDefined();
    const levels = [location!.block!, server, http];
    const value = (name: string): string[] => effective(levels, name).map((d) => d.args.join(' '));

    expect(value('proxy_pass')).toEqual(['http://mcp_gateways']);
    expect(value('proxy_http_version')).toEqual(['1.1']);
    expect(value('proxy_buffering')).toEqual(['off']);
    expect(value('proxy_request_buffering')).toEqual(['off']);
    for (const timeout of ['proxy_read_timeout', 'proxy_send_timeout']) {
      expect(value(timeout)).toHaveLength(1);
      expect(seconds(value(timeout)[0])).toBeGreaterThanOrEqual(3600);
    }
    // A POST that reached a gateway may have run (a tools/call): it must never be sent to a second one.
    expect(value('proxy_next_upstream').join(' ')).not.toMatch(/non_idempotent/);

    const headers = Object.fromEntries(effective(levels, 'proxy_set_header').map((d) => [d.args[0].toLowerCase(), d.args[1]]));
    expect(headers).toMatchObject({
      upgrade: '$http_upgrade',
      connection: '$connection_upgrade',
      // Port included: the MCP endpoints compare Host with PUBLIC_URL's host and port.
      host: '$http_host',
      'x-forwarded-for': '$proxy_add_x_forwarded_for',
      'x-forwarded-proto': '$scheme',
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The real nginx.

function findNginx(): string | undefined {
  // Debian puts it in /usr/sbin, which a non-root PATH often lacks.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  return dirs
    .filter((d) => d !== '')
    .map((d) => join(d, 'nginx'))
    .find((p) => existsSync(p));
}

function requireNginx(): string {
  const binary = findNginx();
  if (!binary) {
    throw new Error('nginx is not installed (looked in PATH and /usr/sbin): `apt-get install -y nginx` (.ci/run installs it when missing)');
  }
  return binary;
}

/** Writes the shipped config into `dir` with the upstream hosts on loopback ports (and, given one, the listen port). */
function writeConfig(dir: string, upstreamPorts: number[], listenPort?: number): string {
  let text = SHIPPED;
  UPSTREAM_HOSTS.forEach((host, i) => {
    if (!text.includes(`server ${host}`)) throw new Error(`nginx.conf has no upstream "server ${host}" to point at a local port`);
    text = text.replaceAll(host, `127.0.0.1:${upstreamPorts[i]}`);
  });
  if (listenPort !== undefined) {
    if (!/^\s*listen 80;$/m.test(text)) throw new Error('nginx.conf has no "listen 80;" to move to a free port');
    text = text.replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listenPort};`);
  }
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, text);
  return path;
}

/** Everything nginx writes goes under `dir`: prefix (the relative temp paths), error log before the config's, pid file. */
function nginxArgs(dir: string, config: string, globals = ''): string[] {
  return ['-p', `${dir}/`, '-c', config, '-e', join(dir, 'error.log'), '-g', `pid ${join(dir, 'nginx.pid')}; ${globals}`.trim()];
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function withTimeout<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('nginx -t on deploy/nginx/nginx.conf', () => {
  it('finds the syntax ok and the test successful', () => {
    const nginx = requireNginx();
    const dir = mkdtempSync(join(tmpdir(), 'nginx-conf-'));
    try {
      const config = writeConfig(dir, [3001, 3002]);
      // stdout a file, as nginx opens /dev/stdout for the access log (see the running test below).
      const stdout = openSync(join(dir, 'access.log'), 'w');
      const result = spawnSync(nginx, ['-t', ...nginxArgs(dir, config)], {
        stdio: ['ignore', stdout, 'pipe'],
        encoding: 'utf8',
        timeout: 10_000,
      });
      closeSync(stdout);
      // One string, so that a failure shows what nginx said.
      expect(`exit ${result.status}\n${result.stderr}`).toMatch(/^exit 0\n[\s\S]*syntax is ok[\s\S]*test is successful/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A stand-in gateway: answers like the real one on the paths the ingress must treat specially, and records what it was sent. */
interface StandIn {
  name: string;
  port: number;
  server: Server;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; remotePort: number | undefined }>;
  /** Streams it holds open, each with the function that ends it. */
  held: Array<() => void>;
}

async function startStandIn(name: string): Promise<StandIn> {
  const standIn: StandIn = { name, port: 0, server: createServer(), requests: [], held: [] };
  const wss = new WebSocketServer({ noServer: true });
  standIn.server.on('request', (req, res) => {
    standIn.requests.push({ method: req.method!, url: req.url!, headers: req.headers, remotePort: req.socket.remotePort });
    if (req.method === 'GET' && req.url === '/servers/demo/sse') {
      // One event, then the response stays open until the test ends it: an event seen whole before that came
      // unbuffered. It is larger than nginx's buffers (4-8 KiB), whose last, partly filled one a buffering
      // nginx holds back until more data comes: a large answer (a tools/list) would hang half-delivered.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: message\ndata: {"padding":"${'x'.repeat(20_000)}","event":"first"}\n\n`);
      standIn.held.push(() => res.end('data: second\n\n'));
    } else if (req.method === 'POST' && req.url === '/servers/demo/mcp') {
      // Answers as soon as the body's first bytes arrive, ends when the body does: only works if both directions stream.
      let answered = false;
      req.on('data', (chunk: Buffer) => {
        if (answered) return;
        answered = true;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(`data: received ${chunk.toString()}\n\n`);
      });
      req.on('end', () => res.end('data: done\n\n'));
    } else if (req.method === 'POST' && req.url === '/servers/crash/mcp') {
      // A gateway that dies once the call reached it.
      req.resume();
      req.on('end', () => req.socket.destroy());
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    }
  });
  standIn.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    standIn.requests.push({ method: req.method!, url: req.url!, headers: req.headers, remotePort: req.socket.remotePort });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => ws.send(`${name}:${data.toString()}`));
    });
  });
  standIn.server.listen(0, '127.0.0.1');
  await once(standIn.server, 'listening');
  standIn.port = (standIn.server.address() as AddressInfo).port;
  return standIn;
}

async function stopStandIn(standIn: StandIn): Promise<void> {
  if (!standIn.server.listening) return;
  const closed = once(standIn.server, 'close');
  standIn.server.close();
  standIn.server.closeAllConnections();
  await closed;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request on a fresh connection (no client keepalive), answered in full. */
function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface OpenStream {
  request: ClientRequest;
  response: Promise<IncomingMessage>;
  /** Resolves once the body so far contains `text`; rejects with `why` after STEP_TIMEOUT_MS. */
  waitFor(text: string, why: string): Promise<void>;
  /** The whole body, once the response has ended. */
  finished: Promise<string>;
}

/** A request whose answer is read as it arrives; the caller writes and ends the request. */
function openStream(port: number, method: string, path: string, headers: Record<string, string>): OpenStream {
  const request = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false });
  let body = '';
  const listeners = new Set<() => void>();
  const response = new Promise<IncomingMessage>((resolvePromise, reject) => {
    request.once('response', resolvePromise);
    request.once('error', reject);
  });
  const finished = response.then(
    (res) =>
      new Promise<string>((resolvePromise, reject) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          for (const listener of listeners) listener();
        });
        res.once('end', () => resolvePromise(body));
        res.once('error', reject);
      }),
  );
  // A failed test leaves these pending; the connections are cut in afterAll and must not surface as unhandled.
  response.catch(() => undefined);
  finished.catch(() => undefined);
  const waitFor = (text: string, why: string): Promise<void> =>
    new Promise((resolvePromise, reject) => {
      const check = (): void => {
        if (!body.includes(text)) return;
        cleanup();
        resolvePromise();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${why} (${body.length} characters received, ending ${JSON.stringify(body.slice(-60))})`));
      }, STEP_TIMEOUT_MS);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return { request, response, waitFor, finished };
}

describe('nginx running deploy/nginx/nginx.conf in front of two stand-in gateways', () => {
  let dir: string | undefined;
  let nginx: ChildProcess | undefined;
  let output = '';
  let port = 0;
  const gateways: StandIn[] = [];
  const streams: OpenStream[] = [];
  const sockets: WebSocket[] = [];
  const held = (): Array<() => void> => gateways.flatMap((g) => g.held);
  const requestsTo = (url: string) =>
    gateways.flatMap((g) => g.requests.filter((r) => r.url === url).map((r) => ({ ...r, gateway: g.name })));

  beforeAll(async () => {
    const binary = requireNginx();
    dir = mkdtempSync(join(tmpdir(), 'nginx-run-'));
    gateways.push(await startStandIn('gateway-1'), await startStandIn('gateway-2'));
    port = await freePort();
    const config = writeConfig(
      dir,
      gateways.map((g) => g.port),
      port,
    );
    // In the foreground and as one process, so that killing this child stops all of nginx. Its stdout (the
    // access log, /dev/stdout) is a file: Node's 'pipe' is a socket, which /dev/stdout cannot be opened on.
    const accessLog = openSync(join(dir, 'access.log'), 'w');
    const child = spawn(binary, nginxArgs(dir, config, 'daemon off; master_process off;'), { stdio: ['ignore', accessLog, 'pipe'] });
    closeSync(accessLog);
    nginx = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    });
    const deadline = Date.now() + 5000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`nginx did not start listening on ${port}:\n${output}${readLog(join(dir, 'error.log'))}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    for (const stream of streams) stream.request.destroy();
    for (const ws of sockets) ws.terminate();
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const exited = once(nginx, 'exit');
      nginx.kill('SIGKILL');
      await exited;
    }
    await Promise.all(gateways.map(stopStandIn));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function stream(method: string, path: string, headers: Record<string, string>): OpenStream {
    const opened = openStream(port, method, path, headers);
    streams.push(opened);
    return opened;
  }

  it('spreads requests over both gateways, reusing its connections to them, with Host kept and forwarded headers set', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await send(port, 'GET', '/ready', { host: 'mcp.example.com:8080', 'x-authenticated-user': 'mallory' }));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    // Round robin from one client address: ip_hash or any stickiness would send all four to one gateway.
    expect(answers.map((a) => a.body).sort()).toEqual(['gateway-1', 'gateway-1', 'gateway-2', 'gateway-2']);

    const seen = requestsTo('/ready');
    for (const name of ['gateway-1', 'gateway-2']) {
      // Both requests to a gateway came over one upstream connection (keepalive).
      expect(new Set(seen.filter((r) => r.gateway === name).map((r) => r.remotePort)).size).toBe(1);
    }
    for (const { headers } of seen) {
      expect(headers.host).toBe('mcp.example.com:8080');
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers['x-forwarded-proto']).toBe('http');
      // Not "close", which would end every upstream connection after one request.
      expect(headers.connection).toBeUndefined();
      expect(headers['x-authenticated-user']).toBeUndefined();
    }
  });

  it('passes an SSE event on before the gateway ends the response (proxy_buffering off), uncompressed', async () => {
    const sse = stream('GET', '/servers/demo/sse', { accept: 'text/event-stream', 'accept-encoding': 'gzip' });
    sse.request.end();
    await sse.waitFor('"event":"first"}\n\n', 'the SSE event did not come through whole while the gateway held the stream open: buffered');
    const res = await sse.response;
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['content-encoding']).toBeUndefined();
    // The gateway had not ended the response when the event arrived.
    expect(held()).toHaveLength(1);
    held().forEach((end) => end());
    expect(await withTimeout(sse.finished, STEP_TIMEOUT_MS, 'the SSE stream did not end')).toMatch(/"event":"first"}\n\ndata: second\n\n$/);
  });

  it('streams a POST body to the gateway and its SSE answer back while the body is still being sent', async () => {
    const post = stream('POST', '/servers/demo/mcp', { 'content-type': 'application/json', accept: 'application/json, text/event-stream' });
    post.request.flushHeaders();
    post.request.write('{"jsonrpc":"2.0",');
    await post.waitFor(
      'data: received {"jsonrpc":"2.0",',
      "the gateway's answer to the first bytes of the body did not come through: request or response buffered",
    );
    post.request.end('"id":1,"method":"ping"}');
    expect(await withTimeout(post.finished, STEP_TIMEOUT_MS, 'the POST answer did not end')).toContain('data: done');
  });

  it.each(['/reverse-proxy/ws', '/reverse-proxy'])('upgrades %s to a WebSocket that carries frames both ways', async (path) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    sockets.push(ws);
    const reply = new Promise<string>((resolvePromise, reject) => {
      ws.once('message', (data: Buffer) => resolvePromise(data.toString()));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    });
    // Awaited below only once open; a failed upgrade is reported by the wait for 'open'.
    reply.catch(() => undefined);
    await withTimeout(once(ws, 'open'), STEP_TIMEOUT_MS, `no WebSocket upgrade through nginx on ${path}`);
    ws.send('hello');
    expect(await withTimeout(reply, STEP_TIMEOUT_MS, 'no frame back through nginx')).toMatch(/^gateway-[12]:hello$/);
    ws.close();
  });

  it('never sends a POST that reached a gateway to a second one, even when that gateway fails', async () => {
    const answer = await send(port, 'POST', '/servers/crash/mcp', { 'content-type': 'application/json' }, '{"jsonrpc":"2.0","id":1}');
    expect(answer.status).toBe(502);
    expect(requestsTo('/servers/crash/mcp')).toHaveLength(1);
  });
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
