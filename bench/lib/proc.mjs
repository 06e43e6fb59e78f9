/** Child processes and /proc readings for the benchmark (Linux only). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux (getconf CLK_TCK)

/** A port that was free a moment ago (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** CPU time (user + system, all threads) a process has used so far, in ms; 10 ms resolution. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Resident set size in KiB. */
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** Machine-wide busy CPU time in ms, summed over cores (for spotting load from outside the bench). */
export function machineBusyMs() {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const v = f.map(Number); // user nice system idle iowait irq softirq steal
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * TICK_MS;
}

/**
 * Starts a process and resolves once `ready` matches a line of its stdout (or at once without one).
 * stderr is kept (last 4 KB) for error messages.
 */
export async function startProcess(command, args, { env = {}, ready, cwd, timeoutMs = 20000, ipc = false } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4096);
  });
  const proc = {
    child,
    pid: child.pid,
    match: undefined,
    get stderr() {
      return stderr;
    },
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
  if (!ready) {
    child.stdout.resume();
    return proc;
  }
  let out = '';
  child.stdout.setEncoding('utf8');
  proc.match = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')}: not ready after ${timeoutMs} ms\n${stderr}`)),
      timeoutMs,
    );
    const onData = (d) => {
      out = (out + d).slice(-8192);
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(m);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready\n${stderr}`));
    });
  });
  return proc;
}

/** Polls a URL until it answers (any status). */
export async function waitForHttp(url, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} not reachable: ${err.message}`);
      await sleep(50);
    }
  }
}

/** The kernel's count of connections dropped because a listen queue was full (TcpExt ListenOverflows + ListenDrops). */
export function listenDrops() {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[at].split(' ');
  const values = lines[at + 1].split(' ').map(Number);
  return values[names.indexOf('ListenOverflows')] + values[names.indexOf('ListenDrops')];
}
