#!/usr/bin/env node
/**
 * Reference relay for the benchmark only (path 2): the least a gateway of this architecture must do.
 * HTTP POST (one JSON-RPC request) -> id rewritten -> {type:"request"} on the tunnel WebSocket ->
 * {type:"response"} -> caller's id restored -> HTTP 200. No framework, no auth, no limits.
 * Speaks enough of the tunnel protocol (register -> register_ack + register_complete) for the real
 * tunnel client to sit behind it.   node bench/raw-relay.mjs <port>   (prints "listening <port>")
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';

let tunnel = null;
let seq = 0;
const pending = new Map(); // relay id -> { res, id: caller's id }

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      return void res.writeHead(400).end();
    }
    if (!tunnel) return void res.writeHead(502).end();
    const id = `r${++seq}`;
    pending.set(id, { res, id: msg.id });
    msg.id = id;
    tunnel.send(JSON.stringify({ type: 'request', sessionId: 'raw', payload: msg }));
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'register') {
      tunnel = ws;
      ws.send(JSON.stringify({ type: 'register_ack', sessionId: 'raw', status: 'success' }));
      ws.send(JSON.stringify({ type: 'register_complete', sessionId: 'raw', status: 'success' }));
      return;
    }
    const call = frame.type === 'response' ? pending.get(frame.payload?.id) : undefined;
    if (!call) return; // notifications, heartbeats, unmatched answers: dropped
    pending.delete(frame.payload.id);
    frame.payload.id = call.id;
    const body = JSON.stringify(frame.payload);
    call.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  ws.on('close', () => {
    if (tunnel === ws) tunnel = null;
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
