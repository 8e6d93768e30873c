// Time for the metrics' tests: a Monday at midnight UTC, days and hours from it, a two-week window.
import { DAY_MS } from './stats.ts';

export const T0 = Date.parse('2026-11-02T00:00:00Z');
export const HOUR_MS = 3_600_000;
export const at = (day: number, hour = 0): number => T0 + day * DAY_MS + hour * HOUR_MS;
export const TWO_WEEKS = { from: T0, to: T0 + 14 * DAY_MS };
