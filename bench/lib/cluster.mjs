/**
 * Path 6: the gateway in cluster mode. A private redis-server, two replicas (A and B) sharing it, the
 * tunnel on A; paths 3 and 4 (and 4h) measured on A, which holds the tunnel ("owner"), and through
 * B, which relays them to A over Redis ("relay"). Same echo server, tunnel client and load
 * generators as the single-gateway paths.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CALL_BODY,
  GATEWAY_ROOT,
  checkHttp,
  descendants,
  mcpTarget,
  startGateway,
  startTunnel,
  stopTree,
  waitForSession,
} from './paths.mjs';
import { httpLoad } from './load.mjs';
import { freePort, startProcess } from './proc.mjs';

const REDIS_SERVER = process.env.BENCH_REDIS_SERVER || '/usr/bin/redis-server';
/** Redis' standard port: someone else's server may be there; the bench never touches it. */
const STANDARD_REDIS_PORT = 6379;
/** At least 32 characters (MIN_CLUSTER_SECRET_LENGTH), the same on both replicas. */
const CLUSTER_SECRET = 'bench-cluster-secret-0123456789abcdef';

/** The sub-paths of path 6 and how each row is called in the report. */
export const CLUSTER_SUBPATHS = {
  3: 'path 3 (REST POST /reverse-proxy/sessions/:id/request, autocannon)',
  4: 'path 4 (MCP Streamable HTTP, SDK clients)',
  '4h': 'path 4h (MCP Streamable HTTP, autocannon in one session)',
};

/** Whether a RESP PING on the port is answered with PONG. */
function answersPing(port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** A private redis-server on a free loopback port (never 6379), nothing persisted; resolves once it answers PING. */
export async function startRedis() {
  let port;
  do port = await freePort();
  while (port === STANDARD_REDIS_PORT);
  const proc = await startProcess(REDIS_SERVER, ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1']);
  const deadline = Date.now() + 10000;
  while (!(await answersPing(port))) {
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${REDIS_SERVER} on port ${port} did not start\n${proc.stderr}`);
    }
    await sleep(25);
  }
  return { proc, port, url: `redis://127.0.0.1:${port}` };
}

/** Polls a replica's /ready until it answers 200 (it holds its cluster lease). */
async function waitReady(base, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/ready`).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${base}/ready: not 200 within ${timeoutMs} ms (last ${res?.status ?? 'no answer'})`);
    await sleep(50);
  }
}

let clusters = 0;

/**
 * Starts a private Redis, replicas A and B (from `root`'s dist/), and the tunnel on A; resolves with
 * one { sub, where, target } per sub-path and side ('owner': served on A; 'relay': entering B).
 * `nodeArgs` go to both replicas (e.g. --cpu-prof); `probe` preloads gateway-probe.mjs (an IPC exit).
 */
export async function startCluster({ impl, tunnelKind, secret, token, subpaths, root = GATEWAY_ROOT, nodeArgs = [], probe = false }) {
  const started = [];
  const stop = async () => {
    for (const s of started.reverse()) await s().catch(() => undefined);
  };
  try {
    const redis = await startRedis();
    started.push(() => redis.proc.stop('SIGKILL'));
    const env = {
      REDIS_URL: redis.url,
      CLUSTER_SECRET,
      // Keys and channels of this cluster only, should a Redis ever be shared.
      CLUSTER_PREFIX: `bench-${process.pid}-${++clusters}:`,
      // Owner and relay each keep 64 SDK clients (MCP sessions) open at once, all living on A.
      MCP_MAX_SESSIONS_PER_USER: '1000',
    };
    const replicas = {};
    for (const id of ['A', 'B']) {
      const gw = await startGateway({ secret, env: { ...env, REPLICA_ID: `bench-${id}` }, nodeArgs, probe, root });
      started.push(() => gw.proc.stop());
      await waitReady(gw.base);
      replicas[id] = gw;
    }
    const { A, B } = replicas;
    const tunnel = await startTunnel(tunnelKind, { wsUrl: A.wsUrl, token, name: 'echo', impl });
    started.push(() => stopTree(tunnel));
    const sessionId = await waitForSession(A.base, token, 'echo');
    // B knows it from A's broadcast (or its next re-read of the directory).
    if ((await waitForSession(B.base, token, 'echo')) !== sessionId) throw new Error('replica B lists another session named echo');

    // CPU of the whole cluster (both replicas and Redis) counts as "gateway" on both sides, so the
    // owner's and the relay's figures compare; `parts` splits it per process.
    const gatewayPids = [A.proc.pid, B.proc.pid, redis.proc.pid];
    const extra = () => [tunnel.pid, ...descendants(tunnel.pid)];
    const parts = { A: A.proc.pid, B: B.proc.pid, redis: redis.proc.pid };
    const headers = { Authorization: `Bearer ${token}` };
    const entries = [];
    for (const sub of subpaths) {
      for (const [where, gw] of [
        ['owner', A],
        ['relay', B],
      ]) {
        let target;
        if (sub === '3') {
          const url = `${gw.base}/reverse-proxy/sessions/${sessionId}/request`;
          await checkHttp(url, headers);
          target = {
            check: () => checkHttp(url, headers),
            run: (c, durationS) => httpLoad({ url, headers, body: CALL_BODY, connections: c, durationS }),
          };
        } else {
          target = mcpTarget(sub === '4h' ? 'http' : 'sdk')({
            url: `${gw.base}/servers/echo/mcp`,
            headers,
            gatewayPid: A.proc.pid,
            extraPids: extra,
          });
          await target.check();
        }
        target.gatewayPids = () => gatewayPids;
        target.pathPids = () => [...gatewayPids, ...extra()];
        target.cpuParts = () => parts;
        entries.push({ sub, where, target });
      }
    }
    return { replicas, redis, tunnel, sessionId, entries, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
