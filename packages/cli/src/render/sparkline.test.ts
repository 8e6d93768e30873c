import { describe, expect, it } from 'vitest';
import { resample, seriesStats, sparkline, sparkWidth, terminalWidth } from './sparkline.ts';

describe('sparkline', () => {
  it('draws the lowest value as ▁ and the highest as █, linearly between', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([10, 0, 10], 3)).toBe('█▁█');
  });

  it('is always as wide as asked: fewer values are stretched, more are averaged', () => {
    expect(sparkline([0, 7], 4)).toBe('▁▁██');
    // 8 values into 4 columns: means 0.5, 2.5, 4.5, 6.5 on a 0.5..6.5 scale.
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 4)).toBe('▁▃▆█');
    for (const n of [1, 7, 40, 41, 500]) {
      expect([
        ...sparkline(
          Array.from({ length: n }, (_, i) => i % 5),
          40,
        ),
      ]).toHaveLength(40);
    }
  });

  it('leaves a space where there was no sample, and for NaN and ±Inf', () => {
    expect(sparkline([1, null, 3, Number.NaN, Infinity, 2], 6)).toBe('▁ █  ▅');
    // A column is a gap only when every value in it is missing.
    expect(sparkline([1, null, null, null, 5, 5], 3)).toBe('▁ █');
  });

  it('draws a flat series at the bottom when it is zero, in the middle otherwise; no samples: all spaces', () => {
    expect(sparkline([0, 0, 0], 3)).toBe('▁▁▁');
    expect(sparkline([4, 4], 4)).toBe('▄▄▄▄');
    expect(sparkline([null, null], 5)).toBe('     ');
    expect(sparkline([], 3)).toBe('   ');
  });

  it('can share a scale between series', () => {
    expect(sparkline([0, 5], 2, { min: 0, max: 10 })).toBe('▁▅');
    expect(sparkline([20, -3], 2, { min: 0, max: 10 })).toBe('█▁');
  });

  it('resamples by mean and keeps gaps as null', () => {
    expect(resample([2, 4, null, null], 2)).toEqual([3, null]);
    expect(resample([1], 3)).toEqual([1, 1, 1]);
  });
});

describe('seriesStats', () => {
  it('gives the lowest, highest and last value, skipping gaps', () => {
    expect(seriesStats([3, null, 1, 7, Number.NaN, 2, null])).toEqual({ min: 1, max: 7, last: 2 });
    expect(seriesStats([null, null])).toEqual({ min: null, max: null, last: null });
  });
});

describe('widths', () => {
  it('takes the terminal width on a TTY, else 100', () => {
    expect(terminalWidth({ isTTY: true, columns: 132 })).toBe(132);
    expect(terminalWidth({ isTTY: false, columns: 132 })).toBe(100);
    expect(terminalWidth({})).toBe(100);
  });

  it('gives the sparkline 40 columns when there is room, less on a narrow terminal, never under 8', () => {
    expect(sparkWidth(100, 30)).toBe(40);
    expect(sparkWidth(60, 30)).toBe(30);
    expect(sparkWidth(20, 30)).toBe(8);
  });
});
