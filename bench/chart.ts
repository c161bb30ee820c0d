import type { RunnerSummary, Spread } from './summary.js';

/**
 * Two bar charts side by side as one SVG: docs/s (longer is better) and CPU seconds per million
 * documents (shorter is better), one bar per runner at its median with a line over the runs' range,
 * Sluice's bars highlighted.
 */
export function chartSvg(runners: RunnerSummary[], title: string): string {
  const rowH = 26;
  const labelW = 190;
  const barW = 300;
  const gap = 40;
  /** Room after a bar for its value. */
  const textW = 150;
  const top = 56;
  const height = top + runners.length * rowH + 20;
  const width = labelW + 2 * (barW + textW) + gap;
  const panel = (x0: number, heading: string, value: (r: RunnerSummary) => Spread | undefined, digits: number): string => {
    // A capped runner (naive-await) can be off the scale by orders of magnitude: its bar is clipped.
    const max = Math.max(1e-9, ...runners.filter((r) => !r.capped).map((r) => value(r)?.max ?? 0));
    const x = (v: number): number => Math.min(barW, Math.max(1, (v / max) * barW));
    const bars = runners.map((r, i) => {
      const s = value(r);
      const y = top + i * rowH;
      const w = s === undefined ? 0 : x(s.median);
      const fill = r.name.startsWith('sluice') ? '#1f77b4' : '#9aa5b1';
      const text = s === undefined ? 'n/a' : `${s.median.toLocaleString('en-US', { maximumFractionDigits: digits })}${s.median > max ? ' (off scale)' : ''}`;
      const range = s !== undefined && s.n > 1 ? `<line x1="${x0 + x(s.min)}" x2="${x0 + x(s.max)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#333" stroke-width="1.5"/>` : '';
      const end = s === undefined ? w : Math.max(w, x(s.max));
      return `<rect x="${x0}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>${range}<text x="${x0 + end + 6}" y="${y + rowH / 2 + 4}">${text}</text>`;
    });
    return `<text x="${x0}" y="${top - 10}" font-weight="bold">${heading}</text>${bars.join('')}`;
  };
  const labels = runners.map((r, i) => `<text x="${labelW - 8}" y="${top + i * rowH + rowH / 2 + 4}" text-anchor="end">${escape(r.name)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>
${labels.join('\n')}
${panel(labelW, 'docs/s, median and range (higher is better)', (r) => r.docsPerSecond, 0)}
${panel(labelW + barW + textW + gap, 'CPU s per million docs, median and range (lower is better)', (r) => r.cpuSecondsPerMillionDocs, 1)}
</svg>
`;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
