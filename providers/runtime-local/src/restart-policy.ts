// Restart policy of the supervisor: backoff between restarts of a failing replica, what makes a
// crash loop, and how often readiness is probed. Pure: no processes, no timers.
export interface BackoffOptions {
  /** Delay before the first restart. */
  initialMs: number;
  /** The delay doubles per consecutive failure up to this. */
  maxMs: number;
  /** A run that lasted this long resets the doubling. */
  resetAfterMs: number;
}

export interface CrashLoopOptions {
  /** This many exits ... */
  maxExits: number;
  /** ... within this window make a crash loop. */
  windowMs: number;
}

export interface ReadinessOptions {
  /** Pause between readiness probes while a replica starts. */
  intervalMs: number;
  /** Timeout of one probe. */
  timeoutMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 10_000, resetAfterMs: 10_000 };
export const DEFAULT_CRASH_LOOP: CrashLoopOptions = { maxExits: 3, windowMs: 10_000 };
export const DEFAULT_READINESS: ReadinessOptions = { intervalMs: 50, timeoutMs: 1000 };

/** Delay before restart number `failures` (1-based) of a replica that keeps failing. */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const doublings = Math.max(0, Math.min(failures - 1, 40));
  return Math.min(options.maxMs, options.initialMs * 2 ** doublings);
}

/**
 * A crash loop is `maxExits` exits within `windowMs`. A command that exits at once is caught by
 * the same rule in well under a second (exits at ~0, 0.1 s and 0.3 s with the default backoff);
 * a single crash of a service that had been running is not a loop.
 */
export class CrashLoopDetector {
  private exits: number[] = [];

  constructor(
    private readonly options: CrashLoopOptions,
    private readonly now: () => number,
  ) {}

  /** Record one exit; true when the exits within the window reach maxExits. */
  recordExit(): boolean {
    const at = this.now();
    this.exits = this.exits.filter((t) => at - t < this.options.windowMs);
    this.exits.push(at);
    return this.exits.length >= this.options.maxExits;
  }

  get recentExits(): number {
    const at = this.now();
    return this.exits.filter((t) => at - t < this.options.windowMs).length;
  }
}
