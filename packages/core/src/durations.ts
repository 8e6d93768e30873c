import { IdpError } from '@idp/contracts';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION = /^([1-9][0-9]{0,8})(s|m|h|d)$/;
const UNITS = [
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
] as const;

/** Parses `30s`, `5m`, `2h`, `7d` into seconds; anything else is INVALID_DURATION naming the field. */
export function parseDuration(text: string, field = 'duration'): number {
  const m = DURATION.exec(text.trim());
  if (!m) {
    throw new IdpError('INVALID_DURATION', `${field}: "${text}" is not a duration`, {
      field,
      hint: 'Use a number and a unit: 30s, 5m, 2h or 7d.',
    });
  }
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/**
 * A duration as a value someone may type back (a TTL, a `--duration` hint): the shortest exact
 * form `parseDuration` reads, never rounded. 7200 → "2h", 90 → "90s".
 */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of UNITS) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * How long something has been, or has left, as people say it: the one rounding rule for every
 * age, countdown and "… old" the platform shows. Rounded down to the largest unit and at most one
 * more, the second left out when it is zero: `45s`, `1m`, `1h5m`, `13d4h`, `2h`. No space between
 * the units, so a table cell stays one word. Negative spans (the past, for a countdown) are `0s`;
 * callers say "expired" or "ago" themselves.
 */
export function formatAge(ms: number): string {
  let left = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (left >= size || (unit === 's' && parts.length === 0)) {
      const count = Math.floor(left / size);
      left -= count * size;
      if (count > 0 || parts.length === 0) parts.push(`${count}${unit}`);
    } else if (parts.length > 0) {
      break;
    }
    if (parts.length === 2) break;
  }
  return parts.join('');
}
