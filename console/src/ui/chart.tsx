/** A small line chart of the last minutes (SVG, no script or style of its own), with its numbers as text beside it. */
import { polylines, yMaxOf, type Series } from '../lib/chart.js';

/** One line of the chart. */
export interface Line {
  label: string;
  series: Series;
  /** CSS class giving its colour (chart-a, chart-b). */
  tone: string;
  /** The last value, formatted for the legend. */
  latest: string;
}

const BOX = { width: 300, height: 80 };

export function Chart({ title, lines, unit }: { title: string; lines: Line[]; unit: (n: number) => string }) {
  const yMax = yMaxOf(lines.map((l) => l.series));
  const summary = `${title}: ${lines.map((l) => `${l.label} ${l.latest}`).join(', ')} (latest); scale up to ${unit(yMax)}`;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line class="chart-grid" x1="0" y1={BOX.height / 2} x2={BOX.width} y2={BOX.height / 2} />
        {lines.map((line) =>
          polylines(line.series, BOX, yMax).map((points, i) => (
            <polyline key={`${line.label}-${i}`} class={`chart-line ${line.tone}`} points={points} />
          )),
        )}
      </svg>
      <div class="chart-axis">
        <span>{unit(yMax)}</span>
        <span>0</span>
      </div>
      <ul class="legend">
        {lines.map((l) => (
          <li key={l.label}>
            <span class={`swatch ${l.tone}`} aria-hidden="true" />
            {l.label}: <strong>{l.latest}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}
