// Sparklines for metrics in a terminal: a series as a fixed number of block characters, low to
// high, with a gap (a space) where Prometheus had no sample.

export const SPARK_BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** The sparkline's width when the terminal leaves room for it. */
export const SPARK_WIDTH = 40;
/** Narrower than this, a sparkline says too little to be worth its columns. */
export const SPARK_MIN_WIDTH = 8;

/** A value that can be drawn: NaN and ±Inf are drawn as gaps, like missing samples. */
function drawable(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * `values` resampled to exactly `width` columns: with more values than columns, each column is
 * the mean of its values (a gap only when all of them are); with fewer, each value spans the
 * columns that fall on it, so the line always has the same width.
 */
export function resample(values: ReadonlyArray<number | null>, width: number): Array<number | null> {
  const n = values.length;
  if (n === 0 || width <= 0) return Array.from({ length: Math.max(0, width) }, () => null);
  const out: Array<number | null> = [];
  for (let col = 0; col < width; col++) {
    const from = Math.floor((col * n) / width);
    const to = Math.max(from + 1, Math.floor(((col + 1) * n) / width));
    let sum = 0;
    let count = 0;
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (drawable(v)) {
        sum += v;
        count++;
      }
    }
    out.push(count === 0 ? null : sum / count);
  }
  return out;
}

/**
 * The series as `width` block characters scaled between its own lowest and highest value (or
 * `scale`, to compare several series on one axis); missing samples are spaces. A flat series is
 * drawn at the bottom when it is zero, in the middle otherwise.
 */
export function sparkline(
  values: ReadonlyArray<number | null>,
  width: number = SPARK_WIDTH,
  scale?: { min: number; max: number },
): string {
  const columns = resample(values, width);
  const present = columns.filter(drawable);
  if (present.length === 0) return ' '.repeat(Math.max(0, width));
  const min = scale?.min ?? Math.min(...present);
  const max = scale?.max ?? Math.max(...present);
  const top = SPARK_BLOCKS.length - 1;
  return columns
    .map((v) => {
      if (!drawable(v)) return ' ';
      if (max <= min) return v === 0 ? SPARK_BLOCKS[0] : SPARK_BLOCKS[3];
      const level = Math.round(((v - min) / (max - min)) * top);
      return SPARK_BLOCKS[Math.min(top, Math.max(0, level))];
    })
    .join('');
}

/** Lowest, highest and most recent drawable value of a series (null when it has none). */
export function seriesStats(values: ReadonlyArray<number | null>): {
  min: number | null;
  max: number | null;
  last: number | null;
} {
  let min: number | null = null;
  let max: number | null = null;
  let last: number | null = null;
  for (const v of values) {
    if (!drawable(v)) continue;
    min = min === null ? v : Math.min(min, v);
    max = max === null ? v : Math.max(max, v);
    last = v;
  }
  return { min, max, last };
}

/**
 * How wide a sparkline may be beside `used` other columns: SPARK_WIDTH when the terminal has room,
 * less on a narrow one, never under SPARK_MIN_WIDTH.
 */
export function sparkWidth(terminalColumns: number, used: number): number {
  return Math.max(SPARK_MIN_WIDTH, Math.min(SPARK_WIDTH, terminalColumns - used));
}

/** The terminal's width when stdout is one, else 100 (a pipe or a file gets the same text every time). */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0 ? stream.columns : 100;
}
