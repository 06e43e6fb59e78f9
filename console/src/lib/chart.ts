/** Drawing the small charts: series in, SVG polyline points out. No DOM here. */

/** A series' values, oldest first; null where there is nothing to draw (a gap). */
export type Series = readonly (number | null)[];

/** The drawing area, in SVG user units. */
export interface Box {
  width: number;
  height: number;
}

/** The smallest "round" number (1, 2 or 5 times a power of ten) at or above `value`; 1 for nothing. */
export function niceMax(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** The top of the y axis for several series drawn together. */
export function yMaxOf(series: readonly Series[]): number {
  let max = 0;
  for (const s of series) for (const v of s) if (v !== null && Number.isFinite(v)) max = Math.max(max, v);
  return niceMax(max);
}

/**
 * The `points` attributes of one series (one per run without gaps), x spread evenly over the
 * box's width, y from 0 at the bottom to `yMax` at the top (values above are clamped).
 */
export function polylines(series: Series, box: Box, yMax: number): string[] {
  const n = series.length;
  if (n === 0) return [];
  const step = n === 1 ? 0 : box.width / (n - 1);
  const lines: string[] = [];
  let current: string[] = [];
  series.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      if (current.length) lines.push(current.join(' '));
      current = [];
      return;
    }
    const y = box.height - (Math.min(Math.max(value, 0), yMax) / yMax) * box.height;
    current.push(`${round(i * step)},${round(y)}`);
  });
  if (current.length) lines.push(current.join(' '));
  return lines;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Calls per second of each bucket. */
export function callsPerSecond(points: readonly { calls: number }[], intervalS: number): number[] {
  const seconds = intervalS > 0 ? intervalS : 1;
  return points.map((p) => p.calls / seconds);
}

/** The last non-null value of a series, or undefined. */
export function lastValue(series: Series): number | undefined {
  for (let i = series.length - 1; i >= 0; i--) {
    const v = series[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return v;
  }
  return undefined;
}
