// Charts for the platform report as standalone SVG text: no script, no external font or style, every
// label escaped, so a report opens anywhere (mail, a wiki, a browser offline) and carries no markup
// from the data. Pure.

export interface BarSeries {
  name: string;
  values: readonly number[];
}

export interface BarChart {
  title: string;
  /** One label per group of bars (e.g. the week's first day). */
  labels: readonly string[];
  series: readonly BarSeries[];
  /** Shown after values on the axis, e.g. "deploys" or "h". */
  unit?: string;
  width?: number;
  height?: number;
}

/** Colour-blind-safe palette (Okabe–Ito), in series order. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}

/** A grouped bar chart; an empty chart says "no data" instead of drawing empty axes. */
export function barChart(c: BarChart): string {
  const width = c.width ?? 640;
  const height = c.height ?? 240;
  const pad = { top: 28, right: 12, bottom: 40, left: 48 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const title = escapeXml(c.title);
  const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}" font-family="sans-serif" font-size="11"><title>${title}</title><text x="${pad.left}" y="16" font-size="13" font-weight="bold">${title}</text>`;
  const max = Math.max(0, ...c.series.flatMap((s) => s.values.filter(Number.isFinite)));
  if (c.labels.length === 0 || c.series.length === 0 || max === 0)
    return `${open}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#555">no data</text></svg>`;

  const top = niceCeiling(max);
  const unit = c.unit ? ` ${escapeXml(c.unit)}` : '';
  const parts: string[] = [open];
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    const y = round(pad.top + plotH - (plotH * i) / 4);
    parts.push(
      `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${pad.left - 4}" y="${y + 4}" text-anchor="end" fill="#333">${formatTick(v)}</text>`,
    );
  }
  const group = plotW / c.labels.length;
  const bar = (group * 0.8) / c.series.length;
  c.labels.forEach((label, g) => {
    const x0 = pad.left + g * group + group * 0.1;
    c.series.forEach((s, k) => {
      const v = Math.max(0, s.values[g] ?? 0);
      const h = round((plotH * v) / top);
      parts.push(
        `<rect x="${round(x0 + k * bar)}" y="${round(pad.top + plotH - h)}" width="${round(Math.max(1, bar - 1))}" height="${h}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeXml(s.name)}, ${escapeXml(label)}: ${formatTick(v)}${unit}</title></rect>`,
      );
    });
    if (c.labels.length <= 16 || g % Math.ceil(c.labels.length / 16) === 0)
      parts.push(
        `<text x="${round(x0 + group * 0.4)}" y="${pad.top + plotH + 14}" text-anchor="middle" fill="#333">${escapeXml(label)}</text>`,
      );
  });
  c.series.forEach((s, k) => {
    const x = pad.left + k * 140;
    parts.push(
      `<rect x="${x}" y="${height - 14}" width="10" height="10" fill="${PALETTE[k % PALETTE.length]}"/>`,
      `<text x="${x + 14}" y="${height - 5}" fill="#333">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The smallest of 1, 2, 2.5 or 5 × 10^n at or above `v`. */
function niceCeiling(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function formatTick(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '');
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
