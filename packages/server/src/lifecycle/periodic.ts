export interface PeriodicOptions {
  /** Named in the log when a run fails, e.g. `catalog refresh`. */
  name: string;
  /** The pause between the end of one run and the start of the next, in ms. */
  everyMs: number;
  run: () => Promise<unknown>;
  /** Where failed runs are reported. */
  log: (line: string) => void;
  /** Runs once at `start` instead of waiting one interval first. */
  runAtStart?: boolean;
}

/**
 * A background task of the control plane (catalog refresh, access expiry, environment reaper,
 * snapshot refresh, rate-limit flush). It never overlaps itself: the next run is scheduled when
 * the previous one ends, so a run longer than the interval delays the next instead of stacking
 * runs. A failed run is logged with the task's name and the schedule goes on. The timer is
 * unref'd (it never keeps the process alive by itself), and `stop` clears it and waits for the
 * run in flight, so nothing the task uses is closed under it.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: PeriodicOptions) {
    if (!Number.isFinite(opts.everyMs) || opts.everyMs <= 0) {
      throw new RangeError(`${opts.name}: the interval must be a positive number of ms (got ${opts.everyMs})`);
    }
  }

  get name(): string {
    return this.opts.name;
  }

  /** Starts the schedule; a second call, or one after `stop`, does nothing. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.opts.runAtStart) void this.tick();
    else this.schedule();
  }

  /**
   * One run now, outside the schedule (tests, an explicit trigger). While a run is in flight it
   * returns that run instead of starting another. Never rejects: failures are logged.
   */
  runNow(): Promise<void> {
    this.inFlight ??= this.runOnce().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Clears the timer and waits for the run in flight; the task is not scheduled again. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, this.opts.everyMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    await this.runNow();
    this.schedule();
  }

  private async runOnce(): Promise<void> {
    try {
      await this.opts.run();
    } catch (err) {
      try {
        this.opts.log(`warning: ${this.opts.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      } catch {
        // A log that throws must not turn a failed run into an unhandled rejection.
      }
    }
  }
}
