#!/usr/bin/env node
/**
 * Tunnels for the resumption soak, run as a child of run.mjs (IPC): `names.length` real
 * TunnelClients (dist/client, resumption on, the CLI's defaults) in this one process, each with an
 * in-process counted local server (lib/counted-local-server.mjs) and its own cuttable forwarder
 * (lib/cuttable-forwarder.mjs) between it and the gateway. While cuts are on, each tunnel's
 * connection is cut at random: the next cut comes a random gap after the tunnel is back, and
 * lasts a random hold, new connections refused or held meanwhile.
 *
 * IPC in:  {cmd:"start", gatewayPort, token, names, seed, gapS:[min,max], holdMs:[min,max], logPath?}
 *          | {cmd:"cuts", on} | {cmd:"report", keys} | {cmd:"close"}
 * IPC out: {type:"ready", tunnels:[{name, sessionId}]} | {type:"settled", down} | {type:"report", ...}
 *          | {type:"error", message}
 */
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { countedServerFactory } from './lib/counted-local-server.mjs';
import { CuttableForwarder } from './lib/cuttable-forwarder.mjs';
import { seededRandom } from './lib/seeded-random.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const { TunnelClient } = await import(`${ROOT}dist/client/tunnel-client.js`);
const { Logger } = await import(`${ROOT}dist/client/logger.js`);
const { resolveConfig } = await import(`${ROOT}dist/client/config.js`);

/** Executions per call key, over every local server of this process. */
const executions = new Map();
const tunnels = [];
let random = Math.random;
let settings;
let cutting = false;
/** Every client log line and every cut, when the soak was asked for logs (BENCH_RESUME_LOG). */
let logFile;
/** Client log lines that are not routine, by kind (digits and ids folded), for the report. */
const notes = new Map();

const send = (message) => process.send(message);
const uniform = ([min, max]) => min + random() * (max - min);

/** The client's own log, read for what happened to its session (it logs every state change at info). */
function sinkFor(tunnel) {
  return {
    write(line) {
      logFile?.write(`${new Date().toISOString().slice(0, 11)}${line}`);
      const text = line.slice(13).trim(); // drop the time stamp
      let m;
      if ((m = /connected as session (\S+)/.exec(text))) {
        tunnel.sessions.push(m[1]);
        back(tunnel, false);
      } else if ((m = /tunnel resumed \(session (\S+),/.exec(text))) {
        if (!tunnel.sessions.includes(m[1])) tunnel.sessions.push(m[1]);
        tunnel.resumes++;
        back(tunnel, true);
      } else if (/^(WARN|ERROR) /.test(text) && !/(disconnected|could not connect) \(/.test(text)) {
        const kind = text.replace(/\[[^\]]*\] /, '').replace(/[0-9a-f]{16,}|\d+(\.\d+)?/g, '#');
        notes.set(kind, (notes.get(kind) ?? 0) + 1);
      }
    },
  };
}

/** The tunnel is registered again (resumed, or a new session): closes its open cut, schedules the next. */
function back(tunnel, resumed) {
  tunnel.up = true;
  const cut = tunnel.cuts.at(-1);
  if (cut && cut.backAt === undefined) {
    cut.backAt = Date.now();
    cut.resumed = resumed;
  }
  schedule(tunnel);
}

function schedule(tunnel, gapS = uniform(settings.gapS)) {
  clearTimeout(tunnel.timer);
  if (!cutting) return;
  tunnel.timer = setTimeout(() => cut(tunnel), gapS * 1000);
}

function cut(tunnel) {
  if (!cutting || !tunnel.up) return;
  const mode = random() < 0.5 ? 'refuse' : 'hold';
  const holdMs = uniform(settings.holdMs);
  tunnel.up = false;
  tunnel.cuts.push({ at: Date.now(), mode, holdMs: Math.round(holdMs) });
  logFile?.write(`${new Date().toISOString()} [${tunnel.name}] bench: cut (${mode} for ${Math.round(holdMs)} ms)\n`);
  tunnel.forwarder.cut(mode);
  tunnel.timer = setTimeout(() => tunnel.forwarder.restore(), holdMs);
}

async function start({ gatewayPort, token, names, seed, gapS, holdMs, logPath }) {
  settings = { gapS, holdMs };
  if (logPath) logFile = createWriteStream(logPath);
  random = seededRandom(seed);
  for (const name of names) {
    const forwarder = new CuttableForwarder({ port: gatewayPort });
    const port = await forwarder.listen();
    const [options] = resolveConfig(
      { localStdio: 'in-process', gateway: `ws://127.0.0.1:${port}/reverse-proxy/ws`, token, name },
      {},
      {},
    ).tunnels;
    const tunnel = { name, forwarder, sessions: [], resumes: 0, cuts: [], up: false, timer: undefined };
    const logger = new Logger({ level: 'info', name, secrets: [token], sink: sinkFor(tunnel) });
    tunnel.client = new TunnelClient(options, { logger, version: 'bench', createLocalServer: countedServerFactory(executions, name) });
    tunnel.done = tunnel.client.run();
    tunnels.push(tunnel);
  }
  const deadline = Date.now() + 60_000;
  while (tunnels.some((t) => t.sessions.length === 0)) {
    if (Date.now() > deadline)
      throw new Error(`${tunnels.filter((t) => t.sessions.length === 0).length} tunnels not registered after 60 s`);
    await sleep(50);
  }
  send({ type: 'ready', tunnels: tunnels.map((t) => ({ name: t.name, sessionId: t.sessions[0] })) });
}

/** Cuts on: each tunnel's first cut comes at a random time within the longest gap. Off: waits until every tunnel is back. */
async function setCuts(on) {
  cutting = on;
  if (on) {
    for (const tunnel of tunnels) schedule(tunnel, random() * settings.gapS[1]);
    return;
  }
  for (const tunnel of tunnels) {
    // A cut still holding is let go now; its tunnel comes back on its own.
    if (!tunnel.up && tunnel.forwarder.isCut) {
      clearTimeout(tunnel.timer);
      tunnel.forwarder.restore();
    } else if (tunnel.up) clearTimeout(tunnel.timer);
  }
  const deadline = Date.now() + 90_000;
  while (tunnels.some((t) => !t.up) && Date.now() < deadline) await sleep(100);
  send({ type: 'settled', down: tunnels.filter((t) => !t.up).map((t) => t.name) });
}

/** `keys`: calls the load generator counts as lost; the report says which of them ran here all the same. */
function report(keys = []) {
  let total = 0;
  const duplicates = [];
  for (const [key, n] of executions) {
    total += n;
    if (n > 1) duplicates.push([key, n]);
  }
  send({
    type: 'report',
    executions: total,
    distinct: executions.size,
    duplicates,
    lostExecuted: keys.filter((key) => executions.has(key)).map((key) => [key, executions.get(key)]),
    tunnels: tunnels.map((t) => ({ name: t.name, sessions: t.sessions, resumes: t.resumes, cuts: t.cuts })),
    notes: [...notes],
  });
}

async function close() {
  cutting = false;
  for (const tunnel of tunnels) clearTimeout(tunnel.timer);
  await Promise.allSettled(tunnels.map((t) => t.client.stop()));
  await Promise.allSettled(tunnels.map((t) => t.forwarder.close()));
  process.exit(0);
}

process.on('message', (msg) => {
  const run = { start: () => start(msg), cuts: () => setCuts(msg.on), report: async () => report(msg.keys), close }[msg?.cmd];
  run?.().catch((err) => send({ type: 'error', message: err.stack ?? String(err) }));
});
process.on('disconnect', () => process.exit(0));
