#!/usr/bin/env node
/**
 * SSE fan-out load, run as a child of run.mjs (IPC): opens `count` subscriptions to one session's
 * event stream, reports when every one has its `connected` event, then counts `notification`
 * events and reports when each subscriber has `expected` of them (or when asked for a tally).
 *
 * IPC in:  {cmd:"open", url, token, count} | {cmd:"expect", expected} | {cmd:"tally"} | {cmd:"close"}
 * IPC out: {type:"connected", count, ms} | {type:"done"} | {type:"tally", received, closed, complete}
 */
import http from 'node:http';

let subs = [];
let expected = Infinity;
let complete = 0;
let doneSent = false;

function open({ url, token, count }) {
  const started = performance.now();
  let connected = 0;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  subs = Array.from({ length: count }, () => {
    const sub = { received: 0, closed: false, connected: false };
    const req = http.get(url, { agent, headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        sub.closed = true;
        process.send({ type: 'error', message: `SSE subscribe: HTTP ${res.statusCode}` });
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk) => {
        buffered += chunk;
        let end;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          // Nest opens the stream with a bare "\n", so the first event follows a blank line
          const event = buffered.slice(0, end).replace(/^\n+/, '');
          buffered = buffered.slice(end + 2);
          if (event.startsWith('event: notification')) {
            if (++sub.received === expected) onComplete();
          } else if (event.startsWith('event: connected') && !sub.connected) {
            sub.connected = true;
            if (++connected === count) process.send({ type: 'connected', count, ms: performance.now() - started });
          }
        }
      });
      res.on('close', () => {
        sub.closed = true;
      });
    });
    req.on('error', (err) => {
      sub.closed = true;
      process.send({ type: 'error', message: `SSE subscribe: ${err.message}` });
    });
    sub.req = req;
    return sub;
  });
}

function onComplete() {
  if (++complete === subs.length && !doneSent) {
    doneSent = true;
    process.send({ type: 'done' });
  }
}

process.on('message', (msg) => {
  if (msg.cmd === 'open') open(msg);
  else if (msg.cmd === 'expect') {
    expected = msg.expected;
    complete = subs.filter((s) => s.received >= expected).length;
    doneSent = false;
  } else if (msg.cmd === 'tally') {
    process.send({
      type: 'tally',
      received: subs.reduce((n, s) => n + s.received, 0),
      closed: subs.filter((s) => s.closed).length,
      complete,
    });
  } else if (msg.cmd === 'close') {
    for (const s of subs) s.req.destroy();
    process.exit(0);
  }
});
