/**
 * The resumption soak (issue 13): one gateway (resumption on, its defaults), `tunnels` real tunnel
 * clients in `workers` child processes (bench/resume-soak-worker.mjs), each tunnel behind its own
 * cuttable forwarder, under a steady mixed REST + MCP load (lib/resume-load.mjs) for `durationS`
 * seconds while the workers cut tunnel connections at random. Counts calls lost and executed more
 * than once, latency (apart for calls that crossed a cut of their tunnel), the gateway's memory at
 * start and end, and whether every tunnel kept its one session.
 */
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencySummary } from './stats.mjs';
import { cpuMs, machineBusyMs, rssKiB } from './proc.mjs';
import { ROOT, gatewayMemory, startGateway } from './paths.mjs';
import { closeMcpSession, openMcpSession, runResumeLoad } from './resume-load.mjs';
import { seededRandom } from './seeded-random.mjs';

/** The default session limits per user: one user per worker keeps a worker's tunnels within them. */
const DEFAULT_MAX_SESSIONS_PER_USER = 50;
const DEFAULT_MCP_MAX_SESSIONS_PER_USER = 100;

/** A child's next IPC message of `type` (an {type:"error"} rejects). */
function next(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "${type}" from a soak worker within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m) => {
      if (m?.type === 'error') done(new Error(`soak worker: ${m.message}`));
      else if (m?.type === type) done(undefined, m);
    };
    const onExit = (code) => done(new Error(`a soak worker exited (${code}) while "${type}" was awaited`));
    function done(err, m) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Asks every worker and waits for each one's answer. */
const ask = (workers, message, type, timeoutMs) =>
  Promise.all(
    workers.map(({ child }) => {
      const answer = next(child, type, timeoutMs);
      child.send(message);
      return answer;
    }),
  );

/**
 * Runs the soak. `cfg`: { durationS, tunnels, workers, rate, inFlight, gapS:[min,max], holdMs:[min,max],
 * longShare, seed }; `secret`/`signToken` make one user token per worker; `log` reports progress.
 */
export async function runResumeSoak({ cfg, secret, signToken, log }) {
  const perWorker = Math.ceil(cfg.tunnels / cfg.workers);
  const env = { REQUEST_TIMEOUT_MS: '60000' };
  if (perWorker > DEFAULT_MAX_SESSIONS_PER_USER) env.MAX_SESSIONS_PER_USER = String(perWorker + 10);
  if (perWorker > DEFAULT_MCP_MAX_SESSIONS_PER_USER) env.MCP_MAX_SESSIONS_PER_USER = String(perWorker + 10);
  const gw = await startGateway({ secret, env, probe: true });
  const graceMs = 30_000; // the gateway's default TUNNEL_RESUME_GRACE_MS, which this run keeps
  const workers = [];
  const mcpSessions = [];
  try {
    for (let w = 0; w < cfg.workers; w++) {
      const names = Array.from({ length: Math.min(perWorker, cfg.tunnels - w * perWorker) }, (_, i) => `soak-${w}-${i}`);
      if (names.length === 0) break;
      const child = fork(`${ROOT}bench/resume-soak-worker.mjs`, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      workers.push({ child, token: signToken({ secret, sub: `resume-soak-${w}`, expiresIn: '6h' }), names });
    }
    const t0 = performance.now();
    const ready = await Promise.all(
      workers.map(({ child, token, names }, w) => {
        const answer = next(child, 'ready', 90_000);
        const logPath = cfg.logDir ? `${cfg.logDir}/worker-${w}.log` : undefined;
        child.send({ cmd: 'start', gatewayPort: gw.port, token, names, seed: cfg.seed + w, gapS: cfg.gapS, holdMs: cfg.holdMs, logPath });
        return answer;
      }),
    );
    const tunnels = ready.flatMap((r, w) => r.tunnels.map((t) => ({ ...t, worker: w, token: workers[w].token })));
    log(`resume soak: ${tunnels.length} tunnels in ${workers.length} processes registered in ${(performance.now() - t0).toFixed(0)} ms`);
    for (let i = 0; i < tunnels.length; i += 16) {
      const batch = tunnels.slice(i, i + 16);
      const opened = await Promise.all(batch.map((t) => openMcpSession(gw.base, t.name, t.token)));
      batch.forEach((t, j) => (t.mcp = opened[j]));
      mcpSessions.push(...opened);
    }

    await sleep(1000);
    const memStart = await gatewayMemory(gw.proc);
    const pids = [gw.proc.pid, ...workers.map((w) => w.child.pid)];
    const cpu0 = pids.map(cpuMs);
    const self0 = process.cpuUsage();
    const busy0 = machineBusyMs();
    const wall0 = performance.now();
    const rss = [{ t: 0, kiB: rssKiB(gw.proc.pid) }];

    for (const { child } of workers) child.send({ cmd: 'cuts', on: true });
    const random = seededRandom(cfg.seed ^ 0x5eed);
    const load = await runResumeLoad({
      base: gw.base,
      tunnels,
      rate: cfg.rate,
      inFlight: cfg.inFlight,
      durationS: cfg.durationS,
      deadlineMs: graceMs + 15_000,
      random,
      // Most calls are quick; a few run long enough that cuts catch them executing.
      execMs: (r) => (r() < cfg.longShare ? 500 + Math.floor(r() * 2500) : Math.floor(r() * 50)),
      onTick: (p) => {
        const t = Math.round(p.elapsedS);
        if (t % 10 === 0) rss.push({ t, kiB: rssKiB(gw.proc.pid) });
        if (t % 30 === 0)
          log(`resume soak ${t} s: ${p.made} calls made, ${p.done} answered, ${p.running} in flight, ${p.skipped} held back`);
      },
    });
    const settled = await ask(workers, { cmd: 'cuts', on: false }, 'settled', 120_000);
    const calls = await load.drain();
    const wallMs = performance.now() - wall0;
    const cpu = pids.map((pid, i) => cpuMs(pid) - cpu0[i]);
    const self = process.cpuUsage(self0);
    const ours = cpu.reduce((a, b) => a + b, 0) + (self.user + self.system) / 1000;
    const foreignPct = (100 * Math.max(0, machineBusyMs() - busy0 - ours)) / wallMs;
    await sleep(2000);
    const memEnd = await gatewayMemory(gw.proc);
    rss.push({ t: Math.round(wallMs / 1000), kiB: rssKiB(gw.proc.pid) });

    const sessionsEnd = await listSessions(gw.base, workers);
    const lostKeys = calls.filter((c) => c.lost !== undefined).map((c) => c.key);
    const reports = await ask(workers, { cmd: 'report', keys: lostKeys }, 'report', 60_000);
    const result = summarize({ cfg, tunnels, calls, reports, sessionsEnd, settled, load, graceMs });
    Object.assign(result, {
      memory: {
        start: { heapMiB: memStart.heapUsed / 2 ** 20, rssMiB: memStart.rss / 2 ** 20 },
        end: { heapMiB: memEnd.heapUsed / 2 ** 20, rssMiB: memEnd.rss / 2 ** 20 },
        rssMaxMiB: Math.max(...rss.map((s) => s.kiB)) / 1024,
        rssSamples: rss.map((s) => ({ t: s.t, mib: s.kiB / 1024 })),
      },
      cpu: {
        gatewayMs: cpu[0],
        workersMs: cpu.slice(1).reduce((a, b) => a + b, 0),
        loadgenMs: (self.user + self.system) / 1000,
        foreignPct,
      },
      wallS: wallMs / 1000,
    });
    log(
      `resume soak: ${result.calls} calls, ${result.lost} lost, ${result.duplicates} duplicated, ${result.cuts} cuts (${result.resumes} resumes, ${result.freshSessions} new sessions); p99 ${result.latency.all.p99.toFixed(1)} ms; heap ${result.memory.start.heapMiB.toFixed(1)} -> ${result.memory.end.heapMiB.toFixed(1)} MiB, RSS ${result.memory.start.rssMiB.toFixed(0)} -> ${result.memory.end.rssMiB.toFixed(0)} MiB`,
    );
    return result;
  } finally {
    await Promise.all(mcpSessions.map(closeMcpSession));
    for (const { child } of workers) {
      if (child.exitCode === null) child.send({ cmd: 'close' });
    }
    await Promise.all(
      workers.map(({ child }) =>
        child.exitCode === null ? Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]) : undefined,
      ),
    );
    for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
    await gw.proc.stop();
  }
}

/** Every session the workers' users see: [{session_id, name, state}]. */
async function listSessions(base, workers) {
  const lists = await Promise.all(
    workers.map(async ({ token }) => {
      const res = await fetch(`${base}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
      return (await res.json()).sessions;
    }),
  );
  const byId = new Map(lists.flat().map((s) => [s.session_id, s]));
  return [...byId.values()];
}

/** Lost, duplicated, latency (calls that crossed a cut of their tunnel apart), cuts and sessions. */
function summarize({ cfg, tunnels, calls, reports, sessionsEnd, settled, load, graceMs }) {
  const byName = new Map(reports.flatMap((r) => r.tunnels).map((t) => [t.name, t]));
  const cutsOf = tunnels.map((t) => byName.get(t.name)?.cuts ?? []);
  const crossed = (call) => cutsOf[call.t].some((c) => call.startAt <= (c.backAt ?? Infinity) && call.endAt >= c.at);
  const lostCalls = calls.filter((c) => c.lost !== undefined);
  const reasons = {};
  for (const c of lostCalls) {
    const reason = c.lost.replace(/[0-9a-f]{12,}/g, '<id>').replace(/\d+/g, '#');
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  const ok = calls.filter((c) => c.lost === undefined);
  // Time in the gateway and tunnel: the latency less the call's own execution time at the server.
  const overhead = (list) => latencySummary(list.map((c) => Math.max(0, c.ms - c.execMs)));
  const across = ok.filter(crossed);
  const cuts = cutsOf.flat();
  const downMs = cuts.filter((c) => c.backAt !== undefined).map((c) => c.backAt - c.at);
  const executions = reports.reduce((n, r) => n + r.executions, 0);
  const duplicates = reports.flatMap((r) => r.duplicates);
  const expected = new Map(tunnels.map((t) => [t.name, t.sessionId]));
  const moved = tunnels.filter((t) => (byName.get(t.name)?.sessions ?? []).some((id) => id !== t.sessionId)).map((t) => t.name);
  const notes = {};
  for (const r of reports) for (const [kind, n] of r.notes) notes[kind] = (notes[kind] ?? 0) + n;
  return {
    tunnels: tunnels.length,
    calls: calls.length,
    rest: calls.filter((c) => c.door === 'rest').length,
    mcp: calls.filter((c) => c.door === 'mcp').length,
    skipped: load.skipped,
    loadS: load.elapsedS,
    lost: lostCalls.length,
    lostReasons: reasons,
    lostExamples: lostCalls.slice(0, 10).map((c) => ({ door: c.door, key: c.key, tunnel: tunnels[c.t].name, lost: c.lost })),
    lostAcrossCut: lostCalls.filter(crossed).length,
    duplicates: duplicates.length,
    duplicateExamples: duplicates.slice(0, 10),
    executions,
    // Lost calls the local server ran all the same (the answer was lost, not the request).
    lostButExecuted: reports.reduce((n, r) => n + r.lostExecuted.length, 0),
    answeredAcrossCut: across.length,
    latency: {
      all: latencySummary(ok.map((c) => c.ms)),
      overheadNoCut: overhead(ok.filter((c) => !crossed(c))),
      overheadAcrossCut: overhead(across),
    },
    cuts: cuts.length,
    cutsRefused: cuts.filter((c) => c.mode === 'refuse').length,
    cutsHeld: cuts.filter((c) => c.mode === 'hold').length,
    downMs: latencySummary(downMs),
    notBack: settled.flatMap((s) => s.down),
    resumes: reports.reduce((n, r) => n + r.tunnels.reduce((m, t) => m + t.resumes, 0), 0),
    freshSessions: [...byName.values()].reduce((n, t) => n + Math.max(0, t.sessions.length - 1), 0),
    sessionsMoved: moved,
    sessionsAtEnd: sessionsEnd.length,
    sessionsReadyAtEnd: sessionsEnd.filter((s) => s.state === 'ready').length,
    sessionsUnchanged: sessionsEnd.filter((s) => expected.get(s.name) === s.session_id).length,
    clientNotes: notes,
    graceMs,
    settings: cfg,
  };
}
