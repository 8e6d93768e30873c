import { IdpError, type DashboardUnit } from '@idp/contracts';
import type { PromQueryData, PromRangeSeries } from '@idp/client';
import { formatColumns } from '../output.ts';
import { SPARK_WIDTH, seriesStats, sparkline, sparkWidth } from './sparkline.ts';
import { durationSeconds, formatSeconds, formatValue, sampleValue } from './units.ts';

// `idp metrics` as a table: one row per series, its labels (those that tell the rows apart) and
// its value, or with a range its sparkline and lowest, highest and last value.

/** The range a matrix was asked for: its points are placed on this grid, gaps where none came. */
export interface RangeGrid {
  start: number;
  end: number;
  step: number;
}

export interface MetricsView {
  unit: DashboardUnit;
  /** The terminal's columns (terminalWidth()). */
  columns: number;
}

/** Label names in a stable order: the metric name first, then alphabetical. */
function labelOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '__name__') return -1;
  if (b === '__name__') return 1;
  return a < b ? -1 : 1;
}

/**
 * The labels that tell the rows apart (a label missing from a row counts as empty), and those
 * every row has with the same value; a single row keeps all of its labels.
 */
export function splitLabels(metrics: ReadonlyArray<Record<string, string>>): {
  varying: string[];
  constant: Record<string, string>;
} {
  const names = [...new Set(metrics.flatMap((m) => Object.keys(m)))].sort(labelOrder);
  if (metrics.length < 2) return { varying: names, constant: {} };
  const varying: string[] = [];
  const constant: Record<string, string> = {};
  for (const name of names) {
    const first = metrics[0]![name] ?? '';
    if (metrics.every((m) => (m[name] ?? '') === first)) constant[name] = first;
    else varying.push(name);
  }
  return { varying, constant };
}

/** `team="payments", env="staging"`: what every row shares, said once under the table. */
export function describeConstant(constant: Record<string, string>): string {
  return Object.entries(constant)
    .map(([name, value]) => `${name === '__name__' ? 'metric' : name}=${JSON.stringify(value)}`)
    .join(', ');
}

function header(label: string): string {
  return (label === '__name__' ? 'metric' : label).toUpperCase();
}

/** The answer of an instant query as a table, and a note of the labels every row shares ('' when none). */
export function formatInstant(data: PromQueryData, view: MetricsView): { text: string; note: string } {
  switch (data.resultType) {
    case 'scalar':
    case 'string':
      return {
        text: `${data.resultType === 'string' ? data.result[1] : formatValue(sampleValue(data.result[1]), view.unit)}\n`,
        note: '',
      };
    case 'matrix':
      return formatRange(data.result, undefined, view);
    case 'vector': {
      if (data.result.length === 0) return { text: '', note: '' };
      const { varying, constant } = splitLabels(data.result.map((r) => r.metric));
      const rows = data.result.map((r) => [
        ...varying.map((name) => r.metric[name] ?? ''),
        formatValue(sampleValue(r.value[1]), view.unit),
      ]);
      return { text: formatColumns([...varying.map(header), 'VALUE'], rows), note: describeConstant(constant) };
    }
  }
}

/** A series' samples on the grid: one value per step from start to end, null where none came. */
export function onGrid(values: PromRangeSeries['values'], grid: RangeGrid | undefined): Array<number | null> {
  if (!grid || !(grid.step > 0)) return values.map(([, v]) => sampleValue(v));
  const count = Math.floor((grid.end - grid.start) / grid.step + 1e-9) + 1;
  const out: Array<number | null> = Array.from({ length: count }, () => null);
  for (const [t, v] of values) {
    const i = Math.round((t - grid.start) / grid.step);
    if (i >= 0 && i < count) out[i] = sampleValue(v);
  }
  return out;
}

/**
 * A range answer as a table: labels, a sparkline as wide as the terminal leaves room for (at most
 * 40 columns), then min, max and last in the unit.
 */
export function formatRange(
  series: readonly PromRangeSeries[],
  grid: RangeGrid | undefined,
  view: MetricsView,
): { text: string; note: string } {
  if (series.length === 0) return { text: '', note: '' };
  const { varying, constant } = splitLabels(series.map((s) => s.metric));
  const rows = series.map((s) => {
    const values = onGrid(s.values, grid);
    const stats = seriesStats(values);
    return {
      labels: varying.map((name) => s.metric[name] ?? ''),
      values,
      numbers: [
        formatValue(stats.min, view.unit),
        formatValue(stats.max, view.unit),
        formatValue(stats.last, view.unit),
      ],
    };
  });
  const numberHeaders = ['MIN', 'MAX', 'LAST'];
  const widthOf = (headerText: string, cells: string[]) => Math.max(headerText.length, ...cells.map((c) => c.length));
  // Each other column and the two spaces after it.
  const used =
    varying.reduce(
      (sum, name, i) =>
        sum +
        widthOf(
          header(name),
          rows.map((r) => r.labels[i]!),
        ) +
        2,
      0,
    ) +
    numberHeaders.reduce(
      (sum, h, i) =>
        sum +
        widthOf(
          h,
          rows.map((r) => r.numbers[i]!),
        ) +
        2,
      0,
    );
  const width = sparkWidth(view.columns, used);
  const trend = grid ? `LAST ${formatSeconds(grid.end - grid.start)}, STEP ${formatSeconds(grid.step)}` : 'TREND';
  const text = formatColumns(
    [...varying.map(header), trend.padEnd(width), ...numberHeaders],
    rows.map((r) => [...r.labels, sparkline(r.values, width), ...r.numbers]),
  );
  return { text, note: describeConstant(constant) };
}

/**
 * start = now − since and end = now, in whole seconds; the step as given, else the range over
 * the sparkline's width (so each column is one point), at least 1 s.
 */
export function rangeGrid(since: string, step: string | undefined, nowMs: number): RangeGrid {
  const range = durationSeconds(since);
  if (range === undefined || range <= 0) {
    throw new IdpError('USAGE', `--since "${since}" is not a duration`, {
      field: 'since',
      hint: 'Use a duration such as 15m, 1h or 2d.',
    });
  }
  let stepSeconds = Math.max(1, Math.ceil(range / SPARK_WIDTH));
  if (step !== undefined) {
    const given = /^[0-9]+(\.[0-9]+)?$/.test(step) ? Number(step) : durationSeconds(step);
    if (given === undefined || !(given > 0)) {
      throw new IdpError('USAGE', `--step "${step}" is not a duration`, {
        field: 'step',
        hint: 'Use a duration such as 30s or 1m.',
      });
    }
    stepSeconds = given;
  }
  const end = Math.floor(nowMs / 1000);
  return { start: end - range, end, step: stepSeconds };
}
