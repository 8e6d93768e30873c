// The supervisor's resolved settings: SupervisorOptions with their defaults filled in, and the environment replicas inherit.
import { realTimers, type Timers } from './clock.ts';
import { findPerl } from './log-stamp.ts';
import {
  DEFAULT_BACKOFF,
  DEFAULT_CRASH_LOOP,
  DEFAULT_READINESS,
  type BackoffOptions,
  type CrashLoopOptions,
  type ReadinessOptions,
} from './restart-policy.ts';
import type { SupervisorEvent, SupervisorOptions } from './supervisor-types.ts';

const DEFAULT_INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface Settings {
  timers: Timers;
  backoff: BackoffOptions;
  crashLoop: CrashLoopOptions;
  readiness: ReadinessOptions;
  stopGraceMs: number;
  logMaxBytes: number;
  logMaxFiles: number;
  logMaxAgeMs: number;
  logCheckIntervalMs: number;
  shell: string;
  /** The perl that timestamps log lines, null when lines go straight to the file. */
  perl: string | null;
  baseEnv: Record<string, string>;
  onEvent: (event: SupervisorEvent) => void;
}

export function settingsFrom(options: SupervisorOptions): Settings {
  // npm (an inferred `npm start`) would otherwise ask the registry for a newer npm at every start.
  const baseEnv: Record<string, string> = { npm_config_update_notifier: 'false' };
  for (const name of options.inheritEnv ?? DEFAULT_INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }
  return {
    timers: options.timers ?? realTimers,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    crashLoop: { ...DEFAULT_CRASH_LOOP, ...options.crashLoop },
    readiness: { ...DEFAULT_READINESS, ...options.readiness },
    stopGraceMs: options.stopGraceMs ?? 10_000,
    logMaxBytes: options.logMaxBytes ?? 10 * 1024 * 1024,
    logMaxFiles: options.logMaxFiles ?? 5,
    logMaxAgeMs: options.logMaxAgeMs ?? 7 * 24 * 3600_000,
    logCheckIntervalMs: options.logCheckIntervalMs ?? 2000,
    shell: options.shell ?? '/bin/sh',
    perl: options.logTimestamps === false ? null : findPerl(),
    baseEnv,
    onEvent: options.onEvent ?? (() => {}),
  };
}
