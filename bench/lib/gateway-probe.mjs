/**
 * Preloaded (`node --expose-gc --import ./bench/lib/gateway-probe.mjs dist/main.js`) into the
 * gateway for the memory and profile runs only, never for the latency/throughput runs.
 * Over the IPC channel: {cmd:"mem"} -> full GC, then {type:"mem", ...process.memoryUsage()};
 * {cmd:"alloc-start", retained} / {cmd:"alloc-stop", file} -> V8's sampling heap profiler over the
 * window, counting objects the GC has collected too (what is allocated; `retained`: only what no GC
 * has collected yet, i.e. what outlived the young generation since the last major GC), its
 * profile written to `file`, then {type:"alloc", gc} (the GC pauses of the window by kind: count
 * and ms); {cmd:"exit"} -> process.exit(0), so `--cpu-prof`
 * gets to write its profile (Nest's shutdown hooks re-raise the signal, which kills the process
 * before the profile is written).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let session;
let gcObserver;
let gc = {};
const post = (method, params = {}) =>
  new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

process.on('message', async (msg) => {
  if (msg?.cmd === 'mem') {
    globalThis.gc?.();
    process.send({ type: 'mem', ...process.memoryUsage() });
  } else if (msg?.cmd === 'alloc-start') {
    session = new Session();
    session.connect();
    await post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      // `retained`: only what no GC has collected yet (what survived its young generation lives until a major GC).
      includeObjectsCollectedByMajorGC: !msg.retained,
      includeObjectsCollectedByMinorGC: !msg.retained,
    });
    gc = {};
    gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = GC_KINDS[entry.detail?.kind] ?? 'other';
        gc[kind] ??= { count: 0, ms: 0 };
        gc[kind].count++;
        gc[kind].ms += entry.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    process.send({ type: 'alloc' });
  } else if (msg?.cmd === 'alloc-stop') {
    gcObserver.disconnect();
    const { profile } = await post('HeapProfiler.stopSampling');
    writeFileSync(msg.file, JSON.stringify(profile));
    session.disconnect();
    process.send({ type: 'alloc', gc });
  } else if (msg?.cmd === 'exit') {
    process.exit(0);
  }
});
