import type { ObservabilityConfig } from '../../config/index.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** observability.logs as the runtime's supervisor options: rotate past maxFileMiB, keep maxFiles copies, none older than maxAge. */
export function logRotationOptions(logs: ObservabilityConfig['logs']): {
  logMaxBytes: number;
  logMaxFiles: number;
  logMaxAgeMs: number;
} {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d)$/.exec(logs.maxAge);
  const maxAgeMs = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : 7 * UNIT_MS.d;
  return { logMaxBytes: logs.maxFileMiB * 1024 * 1024, logMaxFiles: logs.maxFiles, logMaxAgeMs: maxAgeMs };
}
