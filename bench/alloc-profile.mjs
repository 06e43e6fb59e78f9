#!/usr/bin/env node
/**
 * What one call allocates in the gateway: path 3, 4h or 4s at c callers with the gateway's sampling
 * heap profiler on over the measured window, counting objects the GC collected too. Prints bytes
 * per call by allocating function and by area; the profile is left in bench/.out/alloc-<path>.heapprofile.
 *
 *   node bench/alloc-profile.mjs [3|4h|4s] [--c 64] [--duration 10] [--root <another built checkout>] [--retained]
 *
 * --retained: only objects no GC has collected by the end (most of them survived a scavenge into the
 * old generation and wait for a major GC there): what makes scavenges slow.
 * GC time follows the bytes allocated per call; this is where to look when the profiler shows it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cliAvailable, gatewayMcpPath, gatewayRestPath, GATEWAY_ROOT, ROOT } from './lib/paths.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    c: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    root: { type: 'string' },
    retained: { type: 'boolean', default: false },
  },
});
const path = positionals[0] ?? '4h';
if (!['3', '4h', '4s'].includes(path)) throw new Error(`path must be 3, 4h or 4s, not ${path}`);
const c = Number(values.c);
const durationS = Number(values.duration);
const SECRET = 'bench-secret-0123456789abcdef';
const { signToken } = await import(`${ROOT}dist/auth/sign-token.js`);
const token = signToken({ secret: SECRET, sub: 'bench', expiresIn: '1h' });

/** Sends a probe command to the gateway and waits for its reply. */
function probe(proc, message) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.type !== 'alloc') return;
      proc.child.off('message', onMessage);
      resolve(m);
    };
    proc.child.on('message', onMessage);
    proc.child.send(message);
  });
}

/** Self bytes per allocating frame and per area, from a sampling heap profile. */
export function summarizeAllocations(profile, calls, top = 25) {
  const byFrame = new Map();
  const byArea = new Map();
  let total = 0;
  const walk = (node) => {
    const bytes = node.selfSize;
    if (bytes > 0) {
      const f = node.callFrame;
      const url = f.url.replace(/^file:\/\//, '').replace(ROOT, '');
      const key = `${f.functionName || '(anonymous)'}  ${url.slice(Math.max(0, url.lastIndexOf('node_modules/')))}:${f.lineNumber + 1}`;
      byFrame.set(key, (byFrame.get(key) ?? 0) + bytes);
      const area =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
        (url.includes('dist/') ? 'gateway (dist/)' : url.startsWith('node:') ? 'node core' : 'V8/native');
      byArea.set(area, (byArea.get(area) ?? 0) + bytes);
      total += bytes;
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(profile.head);
  const rows = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${(v / calls).toFixed(0).padStart(7)} B/call  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  return { perCall: total / calls, areas: rows(byArea), frames: rows(byFrame) };
}

const root = values.root ? values.root.replace(/\/?$/, '/') : GATEWAY_ROOT;
const common = { impl: 'raw', tunnelKind: cliAvailable() ? 'cli' : 'bench', secret: SECRET, token, probe: true, root };
const target = await (path === '3'
  ? gatewayRestPath(common)
  : gatewayMcpPath({ ...common, loadgen: path === '4h' ? 'http' : 'stateless' }));
const file = `${ROOT}bench/.out/alloc-${path}.heapprofile`;
mkdirSync(`${ROOT}bench/.out`, { recursive: true });
let res;
let gc;
try {
  await target.prepare?.(c);
  await target.run(c, 2);
  await probe(target.gateway.proc, { cmd: 'alloc-start', retained: values.retained });
  res = await target.run(c, durationS);
  ({ gc } = await probe(target.gateway.proc, { cmd: 'alloc-stop', file }));
} finally {
  target.gateway.proc.child.send({ cmd: 'exit' });
  await target.gateway.proc.exited;
  await target.stop();
}
const summary = summarizeAllocations(JSON.parse(readFileSync(file, 'utf8')), res.ok);
const text = [
  `path ${path}, c=${c}, ${durationS} s: ${res.ok} calls (${res.rps.toFixed(0)}/s), ${summary.perCall.toFixed(0)} bytes ${values.retained ? 'retained' : 'allocated'} per call (sampled)`,
  `GC pauses (main thread): ${Object.entries(gc)
    .map(([kind, { count, ms }]) => `${kind} ${count} (${ms.toFixed(0)} ms, ${((1000 * ms) / res.ok).toFixed(1)} µs/call)`)
    .join(', ')}`,
  '',
  'by area:',
  ...summary.areas,
  '',
  'by allocating function:',
  ...summary.frames,
].join('\n');
writeFileSync(`${ROOT}bench/.out/alloc-${path}.txt`, `${text}\n`);
console.log(text);
