import { describe, expect, it } from 'vitest';
import { durationSeconds, formatNumber, formatSeconds, formatValue, sampleValue, unitLabel } from './units.ts';

describe('formatNumber', () => {
  it('keeps about three significant digits and separates thousands', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(12.345)).toBe('12.35');
    expect(formatNumber(2)).toBe('2');
    expect(formatNumber(123.45)).toBe('123.5');
    expect(formatNumber(1234567.8)).toBe('1,234,568');
    expect(formatNumber(0.012345)).toBe('0.0123');
    expect(formatNumber(-0.5)).toBe('-0.5');
    expect(formatNumber(0.0000123)).toBe('1.23e-5');
  });

  it('writes NaN and infinities as Prometheus does', () => {
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(Infinity)).toBe('+Inf');
    expect(formatNumber(-Infinity)).toBe('-Inf');
  });
});

describe('formatValue', () => {
  it('shows a 0..1 ratio and a percentage both as %', () => {
    expect(formatValue(0.0125, 'ratio')).toBe('1.25%');
    expect(formatValue(1, 'ratio')).toBe('100%');
    expect(formatValue(42.5, 'percent')).toBe('42.5%');
  });

  it('shows seconds under one second in ms', () => {
    expect(formatValue(0.25, 'seconds')).toBe('250 ms');
    expect(formatValue(0.0042, 'seconds')).toBe('4.2 ms');
    expect(formatValue(1.5, 'seconds')).toBe('1.5 s');
    expect(formatValue(0, 'seconds')).toBe('0 s');
  });

  it('shows bytes in binary units', () => {
    expect(formatValue(512, 'bytes')).toBe('512 B');
    expect(formatValue(2048, 'bytes')).toBe('2 KiB');
    expect(formatValue(3.5 * 1024 * 1024, 'bytes')).toBe('3.5 MiB');
    expect(formatValue(5 * 1024 ** 3, 'bytes')).toBe('5 GiB');
  });

  it('names req/s and cores; count and none are plain numbers; no value is -', () => {
    expect(formatValue(12.34, 'req/s')).toBe('12.34 req/s');
    expect(formatValue(0.25, 'cores')).toBe('0.25 cores');
    expect(formatValue(1500, 'count')).toBe('1,500');
    expect(formatValue(3, 'none')).toBe('3');
    expect(formatValue(null, 'req/s')).toBe('-');
    expect(formatValue(Number.NaN, 'ratio')).toBe('NaN');
  });

  it('labels each unit for a panel title', () => {
    expect(unitLabel('ratio')).toBe('%');
    expect(unitLabel('seconds')).toBe('s');
    expect(unitLabel('none')).toBe('');
    expect(unitLabel('req/s')).toBe('req/s');
  });
});

describe('durations and samples', () => {
  it('reads durations as typed and refuses anything else', () => {
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('2d')).toBe(172_800);
    expect(durationSeconds('500ms')).toBe(0.5);
    expect(durationSeconds('1.5h')).toBeUndefined();
    expect(durationSeconds('soon')).toBeUndefined();
    expect(durationSeconds('')).toBeUndefined();
  });

  it('writes seconds back as the shortest duration', () => {
    expect(formatSeconds(30)).toBe('30s');
    expect(formatSeconds(90)).toBe('90s');
    expect(formatSeconds(60)).toBe('1m');
    expect(formatSeconds(120)).toBe('2m');
    expect(formatSeconds(3600)).toBe('1h');
    expect(formatSeconds(5400)).toBe('1h30m');
    expect(formatSeconds(86_400)).toBe('1d');
  });

  it("reads Prometheus's sample text", () => {
    expect(sampleValue('0.5')).toBe(0.5);
    expect(sampleValue('+Inf')).toBe(Infinity);
    expect(sampleValue('-Inf')).toBe(-Infinity);
    expect(sampleValue('NaN')).toBeNaN();
  });
});
