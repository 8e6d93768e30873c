import type { DashboardData, DashboardProblemReport, PanelData } from '@idp/contracts';
import { seriesStats, sparkline, sparkWidth } from './sparkline.ts';
import { formatSeconds, formatValue, unitLabel } from './units.ts';

// `idp dash NAME --env E` in a terminal: a heading, then each panel's title and unit and one line
// per series (its legend name, a sparkline, its last value in the unit); a panel that failed
// says why in its place, and the others are shown all the same.

export interface DashView {
  /** The terminal's columns (terminalWidth()). */
  columns: number;
  colour: boolean;
}

/** Indent of a series line under its panel's title. */
const INDENT = '  ';
/** A legend name is cut to this at most, so the sparklines stay in one column. */
const MAX_NAME = 40;

const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * `text` in lines of at most `width` characters, broken at spaces (a word longer than a line is
 * cut); lines after the first are `hanging` narrower, for their indent.
 */
export function wrap(text: string, width: number, hanging = 0): string[] {
  const lines: string[] = [];
  let line = '';
  const room = () => Math.max(10, lines.length === 0 ? width : width - hanging);
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    let rest = word;
    while (rest !== '') {
      const sep = line === '' ? '' : ' ';
      if (line.length + sep.length + rest.length <= room()) {
        line += sep + rest;
        rest = '';
      } else if (line !== '') {
        lines.push(line);
        line = '';
      } else {
        const cut = room();
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/** `payments-api: golden signals (payments-api) · team payments · env staging · last 1h, step 1m`, in lines of at most `columns`. */
export function dashHeading(data: DashboardData, columns = Infinity): string[] {
  const parts = [data.title === data.name ? data.name : `${data.title} (${data.name})`];
  if (data.team !== '') parts.push(`team ${data.team}`);
  parts.push(`env ${data.env}`, `last ${formatSeconds(data.end - data.start)}, step ${formatSeconds(data.step)}`);
  const lines: string[] = [];
  for (const part of parts) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 3 + part.length <= columns) lines[lines.length - 1] = `${last} · ${part}`;
    else lines.push(truncate(part, columns));
  }
  return lines;
}

/** One panel: its title (with the unit), then its series lines, its error, or that it has no data. */
export function formatPanel(panel: PanelData, view: DashView): string[] {
  const unit = unitLabel(panel.unit);
  const suffix = unit === '' ? '' : ` (${unit})`;
  const title = paint(view.colour, '1', truncate(panel.title, view.columns - suffix.length)) + suffix;
  if (panel.error) {
    const text = `error [${panel.error.code}]: ${panel.error.message}`;
    const lines = wrap(text, view.columns - INDENT.length, INDENT.length);
    return [
      title,
      ...lines.map((l, i) => `${INDENT}${i === 0 ? '' : ' '.repeat(INDENT.length)}${paint(view.colour, '31', l)}`),
    ];
  }
  if (panel.series.length === 0) return [title, `${INDENT}${paint(view.colour, '2', 'no data')}`];
  const rows = panel.series.map((s) => {
    const values = s.points.map(([, v]) => v);
    const last = s.last ?? seriesStats(values).last;
    return { name: s.name === '' ? '{}' : s.name, values, last: formatValue(last, panel.unit) };
  });
  const valueWidth = Math.max(...rows.map((r) => r.last.length));
  const longest = Math.max(...rows.map((r) => r.name.length));
  // The name gives way first on a narrow terminal, down to 12 columns; then the sparkline narrows.
  const nameWidth = Math.min(longest, MAX_NAME, Math.max(12, view.columns - INDENT.length - 40 - valueWidth - 4));
  const width = sparkWidth(view.columns, INDENT.length + nameWidth + 2 + 2 + valueWidth);
  const lines = rows.map(
    (r) =>
      `${INDENT}${truncate(r.name, nameWidth).padEnd(nameWidth)}  ${sparkline(r.values, width)}  ${r.last.padStart(valueWidth)}`,
  );
  if (panel.truncated) {
    lines.push(`${INDENT}${paint(view.colour, '2', `… more series matched; the first ${rows.length} are shown`)}`);
  }
  return [title, ...lines];
}

/** The whole dashboard: the heading, then each panel with a blank line before it. */
export function formatDashboard(data: DashboardData, view: DashView): string {
  const lines = dashHeading(data, view.columns).map((l) => paint(view.colour, '1', l));
  for (const panel of data.panels) lines.push('', ...formatPanel(panel, view));
  return `${lines.join('\n')}\n`;
}

/** A refused dashboard definition, for stderr: where it is, what is wrong, and the fix. */
export function formatProblem(p: DashboardProblemReport): string {
  const where = [p.service, p.release].filter((x) => x !== undefined && x !== '').join(' ');
  const head = `${where === '' ? '' : `${where} `}${p.file}:${p.line}:${p.column}  ${p.field}: ${p.message}`;
  const extra = [p.didYouMean ? `did you mean "${p.didYouMean}"?` : '', p.hint ?? ''].filter((x) => x !== '');
  return [head, ...extra.map((x) => `  ${x}`)].join('\n');
}
