// The supervisor's resolved settings: SupervisorOptions with their defaults filled in, and the environment replicas inherit.
import { realTimers, type Timers } from './clock.ts';
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
  logCheckIntervalMs: number;
  shell: string;
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
    logMaxBytes: options.logMaxBytes ?? 5 * 1024 * 1024,
    logCheckIntervalMs: options.logCheckIntervalMs ?? 2000,
    shell: options.shell ?? '/bin/sh',
    baseEnv,
    onEvent: options.onEvent ?? (() => {}),
  };
}
