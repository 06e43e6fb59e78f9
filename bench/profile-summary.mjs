#!/usr/bin/env node
/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, top by total
 * (inclusive) time, and self time per package / area.
 *
 *   node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--from <s>] [--to <s>]
 *
 * --from/--to: seconds after the profile started; samples outside are left out.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function where(frame) {
  let url = frame.url || '';
  if (url.startsWith('file://')) url = url.slice(7);
  if (url.startsWith(ROOT)) url = url.slice(ROOT.length);
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) url = url.slice(nm);
  return url ? `${url}:${frame.lineNumber + 1}` : '';
}

/** Which package or area a frame belongs to. */
function area(frame) {
  const url = frame.url || '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/')) return 'gateway (dist/)';
  if (url.startsWith('node:')) return 'node core (JS)';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : 'V8/native builtins';
  return url;
}

/**
 * `window` = {fromUs, toUs}: only samples taken that long after the profile started (µs), so
 * start-up (module loading) and warm-up can be left out.
 */
export function summarizeProfile(profile, top = 25, window = {}) {
  const fromUs = window.fromUs ?? 0;
  const toUs = window.toUs ?? Infinity;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'}\t${where(n.callFrame)}`;

  const self = new Map();
  const total = new Map();
  const areas = new Map();
  let busyUs = 0;
  let idleUs = 0;
  const { samples, timeDeltas } = profile;
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i];
    if (at < fromUs || at > toUs) continue;
    const dt = timeDeltas[i + 1] ?? 0; // time until the next sample is spent in this one
    const node = byId.get(samples[i]);
    if (node.callFrame.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    busyUs += dt;
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const rows = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => {
        const [fn, at] = key.split('\t');
        return { fn, at, ms: us / 1000, pct: (100 * us) / busyUs };
      });
  const interesting = (r) =>
    !['(root)', '(program)'].includes(r.fn) &&
    !r.at.startsWith('node:internal/main') &&
    r.fn !== 'processTicksAndRejections' &&
    r.fn !== 'listOnTimeout';
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    self: rows(self, top),
    total: rows(total, top * 3)
      .filter(interesting)
      .slice(0, top),
    areas: rows(areas, top),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i !== -1 ? Number(process.argv[i + 1]) : undefined;
  };
  const fromS = arg('--from');
  const toS = arg('--to');
  const s = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), arg('--top') ?? 25, {
    fromUs: fromS === undefined ? 0 : fromS * 1e6,
    toUs: toS === undefined ? Infinity : toS * 1e6,
  });
  const fmt = (r) => `${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.fn}  ${r.at}`;
  console.log(`busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms\n\nself time by area:`);
  for (const r of s.areas) console.log(`${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.fn}`);
  console.log('\ntop self time:');
  for (const r of s.self) console.log(fmt(r));
  console.log('\ntop total (inclusive) time:');
  for (const r of s.total) console.log(fmt(r));
}
