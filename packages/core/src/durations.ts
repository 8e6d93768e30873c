import { IdpError } from '@idp/contracts';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION = /^([1-9][0-9]{0,8})(s|m|h|d)$/;

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

/** The shortest exact rendering: 7200 → "2h", 90 → "90s". */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
