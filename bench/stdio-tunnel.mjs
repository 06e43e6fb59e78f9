#!/usr/bin/env node
/**
 * A minimal tunnel client for the benchmark, used while the real CLI (dist/client/cli.js) is not
 * built: spawns a stdio MCP server, initializes it, connects to the gateway's WebSocket, registers
 * with the server's capabilities, then relays `request` payloads to stdin and stdout lines back as
 * `response` / `notification` / `request` frames.
 *
 *   node bench/stdio-tunnel.mjs --gateway ws://127.0.0.1:3000/reverse-proxy/ws [--token T] --name echo -- node bench/echo-server.mjs
 *
 * Prints "registered <sessionId>" once register_complete arrives.
 */
import { spawn } from 'node:child_process';
import WebSocket from 'ws';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const command = argv.slice(dash + 1);
const opt = (flag) => {
  const at = argv.indexOf(flag);
  return at !== -1 && at < dash ? argv[at + 1] : undefined;
};
const gateway = opt('--gateway');
const token = opt('--token');
const name = opt('--name') ?? 'bench-echo';

const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
child.on('exit', (code) => process.exit(code ?? 1));

let onLine = () => {};
let buffered = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) !== -1) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line.trim()) onLine(line);
  }
});
const toChild = (msg) => child.stdin.write(JSON.stringify(msg) + '\n');

// MCP handshake with the local server first, so register can carry its capabilities.
const init = await new Promise((resolve) => {
  onLine = (line) => {
    const msg = JSON.parse(line);
    if (msg.id === 'tunnel-init') resolve(msg.result);
  };
  toChild({
    jsonrpc: '2.0',
    id: 'tunnel-init',
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-tunnel', version: '1.0.0' } },
  });
});
toChild({ jsonrpc: '2.0', method: 'notifications/initialized' });

const ws = new WebSocket(gateway, { perMessageDeflate: false, headers: token ? { Authorization: `Bearer ${token}` } : {} });
ws.on('error', (err) => {
  console.error(`stdio-tunnel: ${err.message}`);
  process.exit(1);
});
ws.on('close', () => process.exit(0));
ws.on('open', () => {
  ws.send(
    JSON.stringify({
      type: 'register',
      server: { name, capabilities: init.capabilities, serverInfo: init.serverInfo, protocolVersion: init.protocolVersion },
    }),
  );
});
onLine = (line) => {
  const msg = JSON.parse(line);
  const type = msg.method === undefined ? 'response' : msg.id === undefined ? 'notification' : 'request';
  ws.send(JSON.stringify({ type, payload: msg }));
};
ws.on('message', (data) => {
  const frame = JSON.parse(data.toString());
  if (frame.type === 'request') toChild(frame.payload);
  else if (frame.type === 'register_complete') console.log(`registered ${frame.sessionId}`);
  else if (frame.type === 'register_ack' && frame.status !== 'success') {
    console.error(`stdio-tunnel: register refused: ${frame.message}`);
    process.exit(1);
  }
});
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => {
    child.kill();
    process.exit(0);
  });
