import { describe, expect, it } from 'vitest';
import { formatAge, formatDuration, parseDuration } from './durations.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('formatAge: rounded down, the largest unit and at most the next', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [59 * S, '59s'],
    [59 * S + 999, '59s'],
    [60 * S, '1m'],
    [61 * S, '1m1s'],
    [H - 1, '59m59s'],
    [H, '1h'],
    [H + 5 * M + 59 * S, '1h5m'],
    [D - 1, '23h59m'],
    [D, '1d'],
    [D + 5 * M, '1d'],
    [13 * D + 4 * H + 59 * M, '13d4h'],
    [400 * D, '400d'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it('shows a span in the past as 0s; the caller says "expired" or "ago"', () => {
    expect(formatAge(-1)).toBe('0s');
    expect(formatAge(-3 * D)).toBe('0s');
  });
});

describe('formatDuration: exact, the form parseDuration reads back', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [60, '1m'],
    [90, '90s'],
    [3600, '1h'],
    [5400, '90m'],
    [86400, '1d'],
    [93600, '26h'],
  ])('%d s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    if (seconds > 0) expect(parseDuration(text)).toBe(seconds);
  });
});
