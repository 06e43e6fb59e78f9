#!/usr/bin/env node
/**
 * `npm run bench`: latency, throughput and CPU of every path of issue 5 against the same stdio echo
 * server, memory per idle tunnel, tunnel register time, SSE fan-out, and a CPU profile of the
 * gateway under load. Writes docs/benchmarks.md and bench/.out/results.json.
 * Not a test: nothing here asserts a timing. Settings (environment):
 *
 *   BENCH_DURATION=5     seconds per measured run          BENCH_WARMUP=2   seconds of warm-up per case
 *   BENCH_RUNS=3         runs per case (median + min..max) BENCH_CONCURRENCY=1,64
 *   BENCH_PAIRED=2,3,4h,4s  paths set up together and measured in alternating runs (their ratios are targets)
 *   BENCH_BASELINE=<another built checkout>: each path of BENCH_BASELINE_PATHS=3,4,4h,4s also runs on that checkout's
 *     gateway, beside this one's in a pair of its own (runs alternating): a before/after of one run
 *   BENCH_PAIRED_RUNS=5  runs per case for those
 *   BENCH_PATHS=1,1s,2,3,4,4c,5,4h,4s,5h,6   which paths (1s = direct with the SDK echo server; 4c = the SDK client's own ceiling;
 *                        4h/5h = paths 4/5 driven by autocannon in one MCP session instead of SDK clients;
 *                        4s = the stateless 2026-07-28 revision of path 4, driven by autocannon;
 *                        6 = cluster mode: paths 3/4/4h on the replica holding the tunnel and through another one)
 *   BENCH_CLUSTER=3,4,4h  path 6's sub-paths   BENCH_CLUSTER_RUNS=3  runs per case (owner and relay measured alternately)
 *   BENCH_CLUSTER_BASELINE=<another built checkout>: path 6 also runs a second cluster from there, measured alternately
 *     with this one in the same run (an A/B of the relay)
 *   BENCH_TUNNEL=auto|cli|bench   tunnel client behind paths 2-4 (auto: the CLI once it is on main)
 *   ECHO_IMPL=raw|sdk    echo server behind every path     BENCH_MEM_RUNS=3  BENCH_TUNNELS=1000,10000
 *   BENCH_SSE_SUBSCRIBERS=1000  BENCH_SSE_EVENTS=100  BENCH_SSE_RUNS=3
 *   BENCH_PROFILE_DURATION=10 (0 = no profile)   BENCH_PROFILE_PATH=3|4|4h|4s|6/3|6/4|6/4h (the path profiled; 6/x: both
 *     replicas under --cpu-prof while x is relayed from B to A; BENCH_PROFILE_SIDE=owner: while x is served on A)   BENCH_PROFILE_SSE=1: the SSE gateway under --cpu-prof too   BENCH_SOAK=0 (seconds of soak; 300 for the issue's check)
 *   BENCH_ADAPTERS=1 (0 = skip the framework floor: node:http vs Nest on Express vs Nest on Fastify)
 *   BENCH_RESUME_SOAK=300 seconds of the resumption soak (0 = skip): BENCH_RESUME_TUNNELS=200 real tunnel clients in
 *     BENCH_RESUME_WORKERS=4 processes, each behind a forwarder that cuts it every BENCH_RESUME_GAP=20,60 s (uniform,
 *     counted from its last resume) for BENCH_RESUME_HOLD=500,5000 ms, under BENCH_RESUME_RATE=150 calls/s (REST and
 *     MCP, at most BENCH_RESUME_INFLIGHT=64 in flight; BENCH_RESUME_LONG=0.05 of them run 0.5-3 s); BENCH_RESUME_SEED=1;
 *     BENCH_RESUME_LOG=1: every tunnel client's log and every cut to bench/.out/resume-soak-logs/
 *   node bench/run.mjs --resume-soak-only: that soak alone (report to bench/.out/resume-soak.md unless BENCH_OUT says)
 *   BENCH_FRESH_IDS=1   paths 2 and 3 send a fresh JSON-RPC id per request like the MCP paths (0: one fixed body)
 *   BENCH_OUT=docs/benchmarks.md   BENCH_GATEWAY_ROOT=<another built checkout> (gateway from there)
 *   BENCH_QUIET_PCT=10 BENCH_QUIET_WAIT=30 BENCH_RETRIES=2: before each run, wait up to 30 s until
 *     other processes use < 10% of a core; repeat a run (at most 2 times per case) if they used > 20%;
 *     BENCH_QUIET_BUDGET=120: seconds of such waiting in the whole run at most
 *   node bench/run.mjs --report-only: rewrite the report from bench/.out/results.json
 */
import { fork, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, listenDrops, machineBusyMs, rssKiB } from './lib/proc.mjs';
import { spread } from './lib/stats.mjs';
import { httpLoad } from './lib/load.mjs';
import {
  GATEWAY_ROOT,
  ROOT,
  cliAvailable,
  clientCeilingPath,
  directPath,
  gatewayMcpPath,
  gatewayMemory,
  gatewayRestPath,
  rawRelayPath,
  startGateway,
  stopTree,
  supergatewayPath,
  supergatewayVersion,
} from './lib/paths.mjs';
import { openTunnel, openTunnels, closeTunnels } from './lib/tunnels.mjs';
import { CLUSTER_SUBPATHS, startCluster } from './lib/cluster.mjs';
import { summarizeProfile } from './profile-summary.mjs';
import { writeReport } from './lib/report.mjs';
import { runResumeSoak } from './lib/resume-soak.mjs';

// The SDK's Streamable HTTP client passes one AbortSignal to every fetch and undici drops each
// request's listener only when the request is collected: thousands pile up under load (see
// bench/profile-notes.md). Load-generator noise, not a finding about the gateway: keep it quiet.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning?.message ?? warning).includes('abort listeners added to [AbortSignal]')) return;
  return emitWarning.call(process, warning, ...rest);
};

const env = process.env;
const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
const list = (v, d) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : d;
const pair = (v, d) => {
  const [a, b] = list(v, d).map(Number);
  return [a, b ?? a];
};
const resumeSoakOnly = process.argv.includes('--resume-soak-only');
const CFG = {
  durationS: num(env.BENCH_DURATION, 5),
  warmupS: num(env.BENCH_WARMUP, 2),
  runs: num(env.BENCH_RUNS, 3),
  paired: list(env.BENCH_PAIRED, ['2', '3', '4h', '4s']),
  baseline: env.BENCH_BASELINE ? env.BENCH_BASELINE.replace(/\/?$/, '/') : undefined,
  baselinePaths: list(env.BENCH_BASELINE_PATHS, ['3', '4', '4h', '4s']),
  pairedRuns: num(env.BENCH_PAIRED_RUNS, 5),
  concurrency: list(env.BENCH_CONCURRENCY, ['1', '64']).map(Number),
  paths: list(env.BENCH_PATHS, ['1', '1s', '2', '3', '4', '4c', '5', '4h', '4s', '5h', '6']),
  cluster: list(env.BENCH_CLUSTER, ['3', '4', '4h']).filter((sub) => sub in CLUSTER_SUBPATHS),
  clusterRuns: num(env.BENCH_CLUSTER_RUNS, 3),
  clusterBaseline: env.BENCH_CLUSTER_BASELINE ? env.BENCH_CLUSTER_BASELINE.replace(/\/?$/, '/') : undefined,
  tunnel: env.BENCH_TUNNEL || 'auto',
  echoImpl: env.ECHO_IMPL || 'raw',
  memRuns: num(env.BENCH_MEM_RUNS, 3),
  tunnelCounts: list(env.BENCH_TUNNELS, ['1000', '10000']).map(Number),
  sseSubscribers: num(env.BENCH_SSE_SUBSCRIBERS, 1000),
  sseEvents: num(env.BENCH_SSE_EVENTS, 100),
  sseRuns: num(env.BENCH_SSE_RUNS, 3),
  profileS: num(env.BENCH_PROFILE_DURATION, 10),
  profileSse: env.BENCH_PROFILE_SSE === '1',
  profileSide: env.BENCH_PROFILE_SIDE === 'owner' ? 'owner' : 'relay',
  profilePath: ['4', '4h', '4s', '6/3', '6/4', '6/4h'].includes(env.BENCH_PROFILE_PATH) ? env.BENCH_PROFILE_PATH : '3',
  soakS: num(env.BENCH_SOAK, 0),
  adapters: env.BENCH_ADAPTERS !== '0',
  resumeSoak: {
    durationS: num(env.BENCH_RESUME_SOAK, 300),
    tunnels: num(env.BENCH_RESUME_TUNNELS, 200),
    workers: Math.max(1, num(env.BENCH_RESUME_WORKERS, 4)),
    rate: num(env.BENCH_RESUME_RATE, 150),
    inFlight: num(env.BENCH_RESUME_INFLIGHT, 64),
    gapS: pair(env.BENCH_RESUME_GAP, ['20', '60']),
    holdMs: pair(env.BENCH_RESUME_HOLD, ['500', '5000']),
    longShare: num(env.BENCH_RESUME_LONG, 0.05),
    seed: num(env.BENCH_RESUME_SEED, 1),
    logDir: env.BENCH_RESUME_LOG ? `${ROOT}bench/.out/resume-soak-logs` : undefined,
  },
  resumeSoakOnly,
  out: env.BENCH_OUT || (resumeSoakOnly ? 'bench/.out/resume-soak.md' : 'docs/benchmarks.md'),
  quietPct: num(env.BENCH_QUIET_PCT, 10),
  quietWaitS: num(env.BENCH_QUIET_WAIT, 30),
  quietBudgetS: num(env.BENCH_QUIET_BUDGET, 120),
  retries: num(env.BENCH_RETRIES, 2),
};
const OUT_DIR = `${ROOT}bench/.out`;
const SECRET = 'bench-secret-0123456789abcdef';

const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const { signToken } = await import(`${ROOT}dist/auth/sign-token.js`).catch((err) => {
  console.error(`dist/ is missing or broken (${err.message}); run npm run build first`);
  process.exit(1);
});
const TOKEN = signToken({ secret: SECRET, sub: 'bench', expiresIn: '6h' });
const tunnelKind = CFG.tunnel === 'auto' ? (cliAvailable() ? 'cli' : 'bench') : CFG.tunnel;

function machine() {
  const cpus = os.cpus();
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: GATEWAY_ROOT }).toString().trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { cwd: GATEWAY_ROOT }).toString().trim() !== '';
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: os.totalmem() / 2 ** 30,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    date: new Date().toISOString(),
    commit,
    dirty,
    loadavg: os.loadavg(),
  };
}

/** CPU counters around a measured window. */
function snapshot(target) {
  const pathPids = target.pathPids().filter(Boolean);
  let pathCpu = 0;
  for (const pid of pathPids) {
    try {
      pathCpu += cpuMs(pid);
    } catch {
      // exited
    }
  }
  const self = process.cpuUsage();
  const gatewayPids = target.gatewayPids?.() ?? (target.gatewayPid ? [target.gatewayPid] : []);
  const parts = Object.entries(target.cpuParts?.() ?? {}).map(([name, pid]) => [name, cpuMs(pid)]);
  return {
    t: performance.now(),
    gateway: gatewayPids.length ? gatewayPids.reduce((sum, pid) => sum + cpuMs(pid), 0) : NaN,
    parts: Object.fromEntries(parts),
    path: pathCpu,
    loadgen: (self.user + self.system) / 1000,
    busy: machineBusyMs(),
  };
}

/**
 * Waits (up to BENCH_QUIET_WAIT seconds) until processes the bench did not start use less than
 * BENCH_QUIET_PCT % of one core, measured over half a second while everything of ours is idle.
 * Others may share this machine (a developer's test run), which would distort every figure.
 */
let quietBudgetMs = CFG.quietBudgetS * 1000;
async function waitForQuiet() {
  const started = Date.now();
  const deadline = started + Math.min(CFG.quietWaitS * 1000, Math.max(0, quietBudgetMs));
  let pct;
  for (;;) {
    const a = machineBusyMs();
    const s0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(500);
    const s1 = process.cpuUsage(s0);
    pct = (100 * (machineBusyMs() - a - (s1.user + s1.system) / 1000)) / (performance.now() - t0);
    if (pct < CFG.quietPct || Date.now() > deadline) break;
  }
  quietBudgetMs -= Date.now() - started;
  if (pct >= CFG.quietPct) log(`  machine still busy (${pct.toFixed(0)}% of a core used by others); measuring anyway`);
  return pct;
}

/**
 * Measures paths side by side: at each concurrency every path is warmed up, then their measured
 * runs alternate (A B A B ...), so a slow drift of the machine weighs on all of them alike and
 * their ratios stay fair. A group of one is the plain case: warm-up, then `runs` runs.
 * `entries`: [{ id, target }]; returns { [id]: byC }.
 */
async function measureGroup(entries, runs) {
  const byId = Object.fromEntries(entries.map(({ id }) => [id, {}]));
  for (const c of CFG.concurrency) {
    for (const { target } of entries) {
      await target.prepare?.(c);
      await target.run(c, CFG.warmupS);
    }
    const measured = Object.fromEntries(entries.map(({ id }) => [id, []]));
    const retries = Object.fromEntries(entries.map(({ id }) => [id, 0]));
    for (let r = 0; r < runs; r++) {
      for (const { id, target } of entries) {
        for (;;) {
          const run = await measuredRun(target, c);
          if (run.foreignPct > CFG.quietPct * 2 && retries[id] < CFG.retries) {
            retries[id]++;
            log(`path ${id} c=${c} run ${r + 1}: others used ${run.foreignPct.toFixed(0)}% of a core meanwhile; run repeated`);
            continue;
          }
          measured[id].push(run);
          log(
            `path ${id} c=${c} run ${r + 1}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(3)} ms, p99 ${run.p99.toFixed(3)} ms, gateway ${run.gatewayCpuPer1k.toFixed(0)} ms CPU/1k, failed ${run.failed}`,
          );
          break;
        }
      }
    }
    for (const { id, target } of entries) {
      await target.release?.(c);
      byId[id][c] = summarizeRuns(measured[id]);
    }
  }
  return byId;
}

/** One measured run, with the CPU of every process involved around it. */
async function measuredRun(target, c) {
  await waitForQuiet();
  const a = snapshot(target);
  const res = await target.run(c, CFG.durationS);
  const b = snapshot(target);
  const per1k = (x) => (1000 * x) / Math.max(1, res.ok);
  const ours = b.path - a.path + (b.loadgen - a.loadgen);
  return {
    rps: res.rps,
    p50: res.latency.p50,
    p99: res.latency.p99,
    ok: res.ok,
    failed: res.failed,
    firstError: res.firstError,
    gatewayCpuPer1k: per1k(b.gateway - a.gateway),
    pathCpuPer1k: per1k(b.path - a.path),
    loadgenCpuPer1k: per1k(b.loadgen - a.loadgen),
    // per process, where a target names them (path 6: replica A, replica B, Redis)
    partsCpuPer1k: Object.fromEntries(Object.keys(a.parts).map((name) => [name, per1k(b.parts[name] - a.parts[name])])),
    // CPU used on the machine by anything not started by the bench, in % of one core
    foreignPct: (100 * Math.max(0, b.busy - a.busy - ours)) / (b.t - a.t),
  };
}

function summarizeRuns(runs) {
  const pick = (k) => spread(runs.map((x) => x[k]));
  return {
    runs,
    rps: pick('rps'),
    p50: pick('p50'),
    p99: pick('p99'),
    gatewayCpuPer1k: pick('gatewayCpuPer1k'),
    pathCpuPer1k: pick('pathCpuPer1k'),
    loadgenCpuPer1k: pick('loadgenCpuPer1k'),
    foreignPct: pick('foreignPct'),
    partsCpuPer1k: Object.fromEntries(
      Object.keys(runs[0]?.partsCpuPer1k ?? {}).map((name) => [name, spread(runs.map((x) => x.partsCpuPer1k[name]))]),
    ),
    failed: runs.reduce((n, x) => n + x.failed, 0),
  };
}

const PATHS = {
  1: { title: '1 direct: SDK client on the stdio server', setup: () => directPath({ impl: CFG.echoImpl }) },
  '1s': { title: '1s direct, SDK-based echo server (for the choice of echo server)', setup: () => directPath({ impl: 'sdk' }) },
  2: { title: '2 raw relay (node:http + ws, no auth)', setup: () => rawRelayPath({ impl: CFG.echoImpl, tunnelKind }) },
  3: {
    title: '3 gateway POST /reverse-proxy/sessions/:id/request, auth on',
    setup: (root) => gatewayRestPath({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, root }),
  },
  4: {
    title: '4 gateway MCP Streamable HTTP, SDK client, auth on',
    setup: (root) => gatewayMcpPath({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, root }),
  },
  5: {
    title: `5 supergateway ${supergatewayVersion()} stdio -> Streamable HTTP --stateful, SDK client`,
    setup: () => supergatewayPath({ impl: CFG.echoImpl }),
  },
  '4h': {
    title: '4h gateway MCP Streamable HTTP, auth on, light load generator (autocannon, one session)',
    setup: (root) => gatewayMcpPath({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, loadgen: 'http', root }),
  },
  '4s': {
    title: '4s gateway MCP stateless 2026-07-28 (no session), auth on, light load generator (autocannon)',
    setup: (root) => gatewayMcpPath({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, loadgen: 'stateless', root }),
  },
  '5h': {
    title: `5h supergateway ${supergatewayVersion()} --stateful, light load generator (autocannon, one session)`,
    setup: () => supergatewayPath({ impl: CFG.echoImpl, loadgen: 'http' }),
  },
  '4c': { title: '4c ceiling of the SDK client: an endpoint that answers at once and does nothing else', setup: () => clientCeilingPath() },
  6: { title: '6 cluster: paths 3 and 4 through a replica without the tunnel', cluster: true },
};

/**
 * Path 6: one cluster (Redis, replicas A and B, the tunnel on A), and with BENCH_CLUSTER_BASELINE a
 * second one from that checkout. Each sub-path is measured on A ("owner") and through B ("relay"),
 * side by side with runs alternating, so their difference is the relay's cost and not the machine's drift.
 */
async function runCluster(results) {
  const clusters = [];
  try {
    const setup = async (root, label) => {
      log(`path 6: cluster${label} (redis-server, replicas A and B, tunnel on A), sub-paths ${CFG.cluster.join(', ')}`);
      const cluster = await startCluster({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, subpaths: CFG.cluster, root });
      clusters.push(cluster);
      return cluster.entries.map((e) => ({ ...e, label }));
    };
    const entries = [...(await setup(undefined, ''))];
    if (CFG.clusterBaseline) entries.push(...(await setup(CFG.clusterBaseline, ' (baseline)')));
    for (const sub of CFG.cluster) {
      const group = entries
        .filter((e) => e.sub === sub)
        .map((e) => ({
          id: `6:${sub}:${e.where}${e.label ? ':baseline' : ''}`,
          title: `6 ${CLUSTER_SUBPATHS[sub]}, ${e.where === 'owner' ? 'on replica A, holding the tunnel' : 'entering replica B, relayed to A'}${e.label}`,
          sub,
          where: e.where,
          baseline: Boolean(e.label),
          target: e.target,
        }));
      log(`path 6, ${CLUSTER_SUBPATHS[sub]}: ${group.map((g) => g.id).join(', ')} measured side by side, runs alternating`);
      try {
        const byId = await measureGroup(group, CFG.clusterRuns);
        for (const g of group)
          results[g.id] = { title: g.title, cluster: { sub: g.sub, where: g.where, baseline: g.baseline }, byC: byId[g.id] };
      } catch (err) {
        for (const g of group) results[g.id] = { title: g.title, missing: `failed: ${err.message.split('\n')[0]}` };
        log(`  failed: ${err.stack}`);
      } finally {
        for (const g of group) await g.target.release?.().catch(() => undefined);
      }
    }
  } catch (err) {
    results[6] = { title: PATHS[6].title, missing: `failed: ${err.message.split('\n')[0]}` };
    log(`  failed: ${err.stack}`);
  } finally {
    for (const cluster of clusters) await cluster.stop();
  }
}

/** A path's title; `<id>@baseline` is that path on the BENCH_BASELINE checkout, `<id>@after` this build measured beside it. */
function titleOf(id) {
  const [path, side] = id.split('@');
  if (side === 'baseline') return `${PATHS[path].title} [baseline: ${baselineLabel()}]`;
  return side === 'after' ? `${PATHS[path].title} [this build, beside the baseline]` : PATHS[path].title;
}

/** The baseline checkout's commit, for the report. */
function baselineLabel() {
  try {
    return `commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: CFG.baseline }).toString().trim()}`;
  } catch {
    return CFG.baseline;
  }
}

async function runPaths() {
  const results = {};
  // The paths whose ratios are targets are measured side by side; the others one after another.
  const paired = CFG.paired.filter((id) => CFG.paths.includes(id));
  const groups = [];
  for (const id of CFG.paths) {
    if (id === '6') continue; // its own setup, below
    if (!paired.includes(id)) groups.push([id]);
    else if (id === paired[0]) groups.push(paired);
  }
  for (const group of groups) {
    const entries = [];
    try {
      for (const id of group) {
        const def = PATHS[id];
        if (!def?.setup) continue;
        log(`path ${def.title}`);
        try {
          const target = await def.setup();
          if (target.missing) {
            results[id] = { title: def.title, missing: target.missing };
            log(`  not measured: ${target.missing}`);
          } else entries.push({ id, target });
        } catch (err) {
          results[id] = { title: def.title, missing: `failed: ${err.message.split('\n')[0]}` };
          log(`  failed: ${err.stack}`);
        }
      }
      if (entries.length === 0) continue;
      if (entries.length > 1) log(`paths ${entries.map((e) => e.id).join(', ')}: measured side by side, runs alternating`);
      const byId = await measureGroup(entries, entries.length > 1 ? CFG.pairedRuns : CFG.runs);
      for (const { id } of entries) results[id] = { title: titleOf(id), byC: byId[id] };
    } catch (err) {
      for (const { id } of entries) results[id] ??= { title: titleOf(id), missing: `failed: ${err.message.split('\n')[0]}` };
      log(`  failed: ${err.stack}`);
    } finally {
      for (const { target } of entries) await target.stop?.().catch(() => undefined);
    }
  }
  if (CFG.baseline) await runBaselines(results);
  if (CFG.paths.includes('6')) await runCluster(results);
  return results;
}

/**
 * BENCH_BASELINE: each path of BENCH_BASELINE_PATHS set up twice, on this checkout's gateway
 * (`<id>@after`) and on the baseline's (`<id>@baseline`), and the two measured in alternating runs of
 * their own group, apart from the groups above so that their ratios are not measured among more processes.
 */
async function runBaselines(results) {
  for (const id of CFG.baselinePaths.filter((p) => CFG.paths.includes(p) && PATHS[p]?.setup)) {
    const entries = [];
    try {
      log(`path ${PATHS[id].title}: this gateway and the baseline's from ${CFG.baseline}, side by side`);
      for (const [suffix, root] of [
        ['after', undefined],
        ['baseline', CFG.baseline],
      ]) {
        const target = await PATHS[id].setup(root);
        if (target.missing) results[`${id}@${suffix}`] = { title: titleOf(`${id}@${suffix}`), missing: target.missing };
        else entries.push({ id: `${id}@${suffix}`, target });
      }
      if (entries.length < 2) continue;
      const byId = await measureGroup(entries, CFG.pairedRuns);
      for (const e of entries) results[e.id] = { title: titleOf(e.id), byC: byId[e.id] };
    } catch (err) {
      for (const e of entries) results[e.id] ??= { title: titleOf(e.id), missing: `failed: ${err.message.split('\n')[0]}` };
      log(`  failed: ${err.stack}`);
    } finally {
      for (const { target } of entries) await target.stop?.().catch(() => undefined);
    }
  }
}

/** RSS and heap growth per idle tunnel at each count, and the time for the first batch to register all at once. */
async function runMemory() {
  const runs = [];
  const max = Math.max(...CFG.tunnelCounts);
  for (let r = 0; r < CFG.memRuns; r++) {
    const gw = await startGateway({ secret: SECRET, env: { MAX_SESSIONS_PER_USER: String(max + 100) }, probe: true });
    const sockets = [];
    try {
      await sleep(500);
      const base = await gatewayMemory(gw.proc);
      const rss0 = rssKiB(gw.proc.pid);
      const run = { registerMs: NaN, points: [] };
      let opened = 0;
      for (const n of [...CFG.tunnelCounts].sort((a, b) => a - b)) {
        const first = opened === 0;
        if (first) await waitForQuiet();
        const cpu0 = cpuMs(gw.proc.pid);
        const drops0 = listenDrops();
        const batch = await openTunnels({
          url: gw.wsUrl,
          token: TOKEN,
          count: n - opened,
          prefix: `idle${opened}`,
          parallel: first ? n : 500,
        });
        sockets.push(...batch.sockets);
        if (first) {
          run.registerMs = batch.ms;
          run.registerCount = n;
          run.registerCpuMs = cpuMs(gw.proc.pid) - cpu0;
          run.registerP50Ms = batch.p50Ms;
          run.listenDrops = listenDrops() - drops0;
        }
        opened = n;
        await sleep(1000);
        const mem = await gatewayMemory(gw.proc);
        const rss = rssKiB(gw.proc.pid);
        run.points.push({
          n,
          rssPerTunnelKiB: (rss - rss0) / n,
          heapPerTunnelKiB: (mem.heapUsed - base.heapUsed) / 1024 / n,
          rssMiB: rss / 1024,
        });
      }
      runs.push(run);
      log(
        `memory run ${r + 1}: ${run.registerCount} tunnels registered in ${run.registerMs.toFixed(0)} ms (half in ${run.registerP50Ms.toFixed(0)} ms, gateway CPU ${run.registerCpuMs} ms, listen-queue drops ${run.listenDrops}); ${run.points.map((p) => `${p.n}: ${p.rssPerTunnelKiB.toFixed(1)} KiB RSS, ${p.heapPerTunnelKiB.toFixed(1)} KiB heap per tunnel`).join('; ')}`,
      );
    } catch (err) {
      log(`memory run ${r + 1} failed: ${err.message}`);
      runs.push({ error: err.message });
    } finally {
      await closeTunnels(sockets);
      await gw.proc.stop();
    }
  }
  const ok = runs.filter((r) => !r.error);
  const points = {};
  for (const n of CFG.tunnelCounts) {
    const ps = ok.map((r) => r.points.find((p) => p.n === n)).filter(Boolean);
    points[n] = {
      rssPerTunnelKiB: spread(ps.map((p) => p.rssPerTunnelKiB)),
      heapPerTunnelKiB: spread(ps.map((p) => p.heapPerTunnelKiB)),
      rssMiB: spread(ps.map((p) => p.rssMiB)),
    };
  }
  return {
    runs,
    points,
    registerCount: Math.min(...CFG.tunnelCounts),
    registerMs: spread(ok.map((r) => r.registerMs)),
    registerCpuMs: spread(ok.map((r) => r.registerCpuMs)),
    registerP50Ms: spread(ok.map((r) => r.registerP50Ms)),
    listenDrops: ok.map((r) => r.listenDrops),
    errors: runs.filter((r) => r.error).map((r) => r.error),
  };
}

/** One session, N SSE subscribers (in a child process), M notifications from the tunnel per run. */
async function runSse() {
  const profDir = `${OUT_DIR}/profiles-sse`;
  if (CFG.profileSse) {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  const spawnedAt = performance.now();
  const gw = await startGateway(
    CFG.profileSse ? { secret: SECRET, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir], probe: true } : { secret: SECRET },
  );
  let profileFrom;
  const child = fork(`${ROOT}bench/sse-subscribers.mjs`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', on);
        reject(new Error(`no "${type}" from the subscribers within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m) => {
        if (m.type === 'error') log(`sse: ${m.message}`);
        if (m.type !== type) return;
        clearTimeout(timer);
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
  const tally = async () => {
    const p = next('tally', 10000);
    child.send({ cmd: 'tally' });
    return p;
  };
  const runs = [];
  let tunnel;
  try {
    tunnel = await openTunnel(gw.wsUrl, TOKEN, 'sse-source');
    const connected = next('connected', 60000);
    child.send({ cmd: 'open', url: `${gw.base}/reverse-proxy/sse/${tunnel.sessionId}`, token: TOKEN, count: CFG.sseSubscribers });
    const c = await connected;
    log(`sse: ${c.count} subscribers connected in ${c.ms.toFixed(0)} ms`);
    let sent = 0;
    for (let r = 0; r < CFG.sseRuns; r++) {
      child.send({ cmd: 'expect', expected: sent + CFG.sseEvents });
      await sleep(100);
      const done = next('done', 120000);
      const cpu0 = cpuMs(gw.proc.pid);
      const t0 = performance.now();
      profileFrom ??= t0;
      for (let i = 0; i < CFG.sseEvents; i++) {
        tunnel.ws.send(
          JSON.stringify({
            type: 'notification',
            payload: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { n: ++sent } } },
          }),
        );
      }
      let ms;
      let complete = true;
      try {
        await done;
        ms = performance.now() - t0;
      } catch {
        complete = false;
        ms = performance.now() - t0;
      }
      const t = await tally();
      const delivered = complete ? CFG.sseSubscribers * CFG.sseEvents : t.received - CFG.sseSubscribers * (sent - CFG.sseEvents);
      const run = {
        ms,
        delivered,
        eventsPerS: (1000 * delivered) / ms,
        gatewayCpuPer1k: (1000 * (cpuMs(gw.proc.pid) - cpu0)) / delivered,
        closed: t.closed,
        complete,
      };
      runs.push(run);
      log(
        `sse run ${r + 1}: ${delivered} events in ${ms.toFixed(0)} ms = ${run.eventsPerS.toFixed(0)} events/s, ${t.closed} subscribers dropped`,
      );
    }
  } finally {
    child.send({ cmd: 'close' });
    tunnel?.ws.terminate();
    if (CFG.profileSse) {
      gw.proc.child.send({ cmd: 'exit' });
      await gw.proc.exited;
    } else await gw.proc.stop();
  }
  let profile;
  if (CFG.profileSse) {
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    profile = {
      file: `bench/.out/profiles-sse/${file}`,
      ...summarizeProfile(JSON.parse(readFileSync(`${profDir}/${file}`, 'utf8')), 15, { fromUs: (profileFrom - spawnedAt) * 1000 }),
    };
  }
  return {
    profile,
    runs,
    eventsPerS: spread(runs.map((r) => r.eventsPerS)),
    gatewayCpuPer1k: spread(runs.map((r) => r.gatewayCpuPer1k)),
    dropped: Math.max(0, ...runs.map((r) => r.closed)),
  };
}

/** Path 3 (or BENCH_PROFILE_PATH=4 / 4h / 4s) at the highest concurrency with the gateway under --cpu-prof; summarizes the profile. */
async function runProfile() {
  const dir = `${OUT_DIR}/profiles`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const c = Math.max(...CFG.concurrency);
  if (CFG.profilePath.startsWith('6/')) return runClusterProfile(dir, c);
  const spawnedAt = performance.now();
  const target = await (CFG.profilePath === '3' ? gatewayRestPath : gatewayMcpPath)({
    loadgen: { '4h': 'http', '4s': 'stateless' }[CFG.profilePath] ?? 'sdk',
    impl: CFG.echoImpl,
    tunnelKind,
    secret: SECRET,
    token: TOKEN,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
    probe: true,
  });
  let res;
  let window;
  try {
    await target.prepare?.(c);
    await target.run(c, CFG.warmupS);
    await waitForQuiet();
    const from = performance.now();
    res = await target.run(c, CFG.profileS);
    // only the measured load: start-up and warm-up are left out of the summary
    window = { fromUs: (from - spawnedAt) * 1000, toUs: (performance.now() - spawnedAt) * 1000 };
  } finally {
    target.gateway.proc.child.send({ cmd: 'exit' });
    await target.gateway.proc.exited;
    await target.stop();
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error('the gateway wrote no .cpuprofile');
  const file = `${dir}/${files.sort((a, b) => statSync(`${dir}/${b}`).mtimeMs - statSync(`${dir}/${a}`).mtimeMs)[0]}`;
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 25, window);
  log(`profile: ${res.rps.toFixed(0)} req/s under --cpu-prof, ${summary.busyMs.toFixed(0)} ms busy; written to ${file}`);
  return { path: CFG.profilePath, c, rps: res.rps, requests: res.ok, file: file.slice(ROOT.length), ...summary };
}

/** Path 6/x: sub-path x relayed from B to A (or served on A) at the highest concurrency, both replicas under --cpu-prof. */
async function runClusterProfile(dir, c) {
  const sub = CFG.profilePath.slice(2);
  // V8 stamps profiles with the monotonic clock of process.hrtime: the measured window, in each replica's profile time.
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const cluster = await startCluster({
    impl: CFG.echoImpl,
    tunnelKind,
    secret: SECRET,
    token: TOKEN,
    subpaths: [sub],
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
    probe: true,
  });
  const { target } = cluster.entries.find((e) => e.where === CFG.profileSide);
  let res;
  let window;
  let busy;
  try {
    await target.prepare?.(c);
    await target.run(c, CFG.warmupS);
    await waitForQuiet();
    const before = snapshot(target);
    const from = nowUs();
    res = await target.run(c, CFG.profileS);
    window = { from, to: nowUs() };
    const after = snapshot(target);
    busy = Object.fromEntries(Object.keys(before.parts).map((k) => [k, after.parts[k] - before.parts[k]]));
    await target.release?.(c);
  } finally {
    for (const gw of Object.values(cluster.replicas)) {
      gw.proc.child.send({ cmd: 'exit' });
      await gw.proc.exited;
    }
    await cluster.stop();
  }
  // --cpu-prof names each file after its process: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const replicas = [];
  for (const [id, role] of [
    ['A', 'holds the tunnel'],
    ['B', CFG.profileSide === 'owner' ? 'idle' : 'entry, relays to A'],
  ]) {
    const pid = cluster.replicas[id].proc.pid;
    const file = files.find((f) => f.split('.')[3] === String(pid));
    if (!file) throw new Error(`replica ${id} wrote no .cpuprofile`);
    const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'));
    const summary = summarizeProfile(profile, 25, { fromUs: window.from - profile.startTime, toUs: window.to - profile.startTime });
    replicas.push({ id, role, cpuMs: busy[id], file: `bench/.out/profiles/${file}`, ...summary });
  }
  log(
    `profile: ${res.rps.toFixed(0)} req/s under --cpu-prof; CPU ms: A ${busy.A}, B ${busy.B}, redis ${busy.redis}; written to ${replicas.map((r) => r.file).join(', ')}`,
  );
  return { path: CFG.profilePath, side: CFG.profileSide, c, rps: res.rps, requests: res.ok, redisCpuMs: busy.redis, replicas };
}

/** Path 3 at c=16 for CFG.soakS seconds; heap after a full GC sampled every ~10% of the time. */
async function runSoak() {
  const target = await gatewayRestPath({ impl: CFG.echoImpl, tunnelKind, secret: SECRET, token: TOKEN, probe: true });
  const samples = [];
  try {
    await target.run(16, CFG.warmupS);
    const step = Math.max(5, CFG.soakS / 10);
    for (let t = 0; t < CFG.soakS; t += step) {
      const res = await target.run(16, step);
      const mem = await gatewayMemory(target.gateway.proc);
      samples.push({ t: t + step, rps: res.rps, heapMiB: mem.heapUsed / 2 ** 20, rssMiB: mem.rss / 2 ** 20 });
      log(
        `soak ${t + step}s: ${res.rps.toFixed(0)} req/s, heap after GC ${samples.at(-1).heapMiB.toFixed(1)} MiB, RSS ${samples.at(-1).rssMiB.toFixed(0)} MiB`,
      );
    }
  } finally {
    await target.stop();
  }
  const heaps = samples.map((s) => s.heapMiB);
  const first = heaps[0];
  return {
    samples,
    growthPct: (100 * (Math.max(...heaps.slice(1)) - first)) / first,
    lastVsFirstPct: (100 * (heaps.at(-1) - first)) / first,
  };
}

async function main() {
  const started = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const info = machine();
  log(`pid ${process.pid}, node ${info.node}, ${info.cores} x ${info.cpu}, tunnel client: ${tunnelKind}, echo server: ${CFG.echoImpl}`);
  const results = {
    machine: info,
    config: { ...CFG, tunnelKind, gatewayRoot: GATEWAY_ROOT === ROOT ? undefined : GATEWAY_ROOT },
    paths: CFG.resumeSoakOnly ? {} : await runPaths(),
  };
  const guard = async (name, fn) => {
    try {
      return await fn();
    } catch (err) {
      log(`${name} failed: ${err.stack}`);
      return { error: err.message.split('\n')[0] };
    }
  };
  if (CFG.resumeSoakOnly) {
    results.resumeSoak = await guard('resume soak', resumeSoak);
    return finish(results, started, 'resume-soak.json');
  }
  if (CFG.memRuns > 0) results.memory = await guard('memory', runMemory);
  if (CFG.sseRuns > 0) results.sse = await guard('sse', runSse);
  if (CFG.profileS > 0) {
    results.profile = await guard('profile', runProfile);
    results.jwt = await guard('jwt micro-benchmark', async () =>
      JSON.parse(execFileSync(process.execPath, [`${ROOT}bench/jwt-verify.mjs`], { cwd: ROOT }).toString()),
    );
  }
  if (CFG.adapters) {
    await waitForQuiet();
    log('framework floor: node:http, Nest on Express, Nest on Fastify (bench/adapters.mjs)');
    results.adapters = await guard('adapters', async () =>
      JSON.parse(
        execFileSync(process.execPath, [`${ROOT}bench/adapters.mjs`, '--duration', String(CFG.durationS)], { cwd: ROOT }).toString(),
      ),
    );
  }
  if (CFG.soakS > 0) results.soak = await guard('soak', runSoak);
  if (CFG.resumeSoak.durationS > 0) results.resumeSoak = await guard('resume soak', resumeSoak);
  finish(results, started, 'results.json');
}

/** The resumption soak with the BENCH_RESUME_* settings; waits for a quiet machine first. */
async function resumeSoak() {
  await waitForQuiet();
  const s = CFG.resumeSoak;
  log(
    `resume soak: ${s.tunnels} tunnels, ${s.durationS} s, ${s.rate} calls/s (at most ${s.inFlight} in flight), cuts every ${s.gapS.join('-')} s for ${s.holdMs.join('-')} ms`,
  );
  if (s.logDir) {
    rmSync(s.logDir, { recursive: true, force: true });
    mkdirSync(s.logDir, { recursive: true });
  }
  return runResumeSoak({ cfg: s, secret: SECRET, signToken, log });
}

function finish(results, started, json) {
  results.elapsedS = (Date.now() - started) / 1000;
  writeFileSync(`${OUT_DIR}/${json}`, JSON.stringify(results, null, 2));
  writeReport(results, `${ROOT}${CFG.out}`);
  log(`done in ${results.elapsedS.toFixed(0)} s; wrote ${CFG.out} and bench/.out/${json}`);
}

if (process.argv.includes('--report-only')) {
  const results = JSON.parse(readFileSync(`${OUT_DIR}/results.json`, 'utf8'));
  writeReport(results, `${ROOT}${results.config.out}`);
  log(`rewrote ${results.config.out} from bench/.out/results.json`);
} else await main();
process.exit(0);
