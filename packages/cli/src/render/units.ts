import type { DashboardUnit } from '@idp/contracts';

// Metric values for people: a few significant digits and the panel's unit, scaled the way it is
// read (a 0..1 ratio as a percentage, sub-second latencies in ms, bytes in KiB/MiB/GiB).

/** A number with about three significant digits, thousands separated; NaN and ±Inf as Prometheus writes them. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return trim(n.toFixed(1));
  if (a >= 1) return trim(n.toFixed(2));
  if (a >= 0.001) return trim(n.toPrecision(3));
  return n.toExponential(2).replace(/\.?0+e/, 'e');
}

function trim(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** A value in its unit: `12.5 req/s`, `1.25%`, `250 ms`, `1.5 s`, `3.2 MiB`, `0.25 cores`; `-` for none. */
export function formatValue(value: number | null | undefined, unit: DashboardUnit = 'none'): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return formatNumber(value);
  switch (unit) {
    case 'req/s':
      return `${formatNumber(value)} req/s`;
    case 'ratio':
      return `${formatNumber(value * 100)}%`;
    case 'percent':
      return `${formatNumber(value)}%`;
    case 'seconds':
      return Math.abs(value) < 1 && value !== 0 ? `${formatNumber(value * 1000)} ms` : `${formatNumber(value)} s`;
    case 'bytes': {
      let scaled = value;
      let i = 0;
      while (Math.abs(scaled) >= 1024 && i < BYTE_UNITS.length - 1) {
        scaled /= 1024;
        i++;
      }
      return `${formatNumber(scaled)} ${BYTE_UNITS[i]}`;
    }
    case 'cores':
      return `${formatNumber(value)} cores`;
    case 'count':
    case 'none':
      return formatNumber(value);
  }
}

/** What the unit is called beside a panel's title. */
export function unitLabel(unit: DashboardUnit): string {
  switch (unit) {
    case 'ratio':
    case 'percent':
      return '%';
    case 'seconds':
      return 's';
    case 'bytes':
      return 'bytes';
    case 'req/s':
    case 'cores':
    case 'count':
      return unit;
    case 'none':
      return '';
  }
}

/** A Prometheus value as received (`"0.5"`, `"NaN"`, `"+Inf"`) as a number. */
export function sampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

const DURATION = /^([0-9]+(ms|s|m|h|d|w))+$/;
const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** A duration as typed (`90s`, `15m`, `1h30m`, `2d`) in seconds; undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h|d|w)/g)) {
    total += Number(n) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  return total;
}

/** Seconds as the shortest duration one could type back: `30s`, `90s`, `2m`, `1h`, `1h30m`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const s = Math.round(seconds);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s >= 3600 && s % 60 === 0) return `${Math.floor(s / 3600)}h${(s % 3600) / 60}m`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}
