// Health checker: GET a path on every target every interval, count consecutive failures per
// target, and report each round. The canary engine fails a rollout when a canary replica reaches
// `healthcheck.threshold` consecutive failures.
import { realTimers, type TimerHandle, type Timers } from './clock.ts';
import { probeHttp, type ProbeResult } from './probe.ts';

export interface HealthTarget {
  host: string;
  port: number;
}

export interface HealthCheckResult {
  target: HealthTarget;
  ok: boolean;
  status?: number;
  /** Socket error code, `timeout` or `status <n>`. */
  error?: string;
  latencyMs: number;
  /** Failures in a row for this target, this one included; 0 after a success. */
  consecutiveFailures: number;
  at: number;
}

export type HealthProbe = (target: HealthTarget, path: string, timeoutMs: number) => Promise<ProbeResult>;

export interface HealthCheckerOptions {
  targets: HealthTarget[];
  /** `healthcheck.path`, e.g. /health. */
  path: string;
  intervalMs: number;
  /** Per-check timeout; at most the interval. Default min(interval, 2 s). */
  timeoutMs?: number;
  /** Called once per round with every target's result. */
  onResults: (results: HealthCheckResult[]) => void;
  timers?: Timers;
  /** Run the first round at start() rather than one interval later. Default false. */
  immediate?: boolean;
  /** Replaces the HTTP GET (tests). */
  probe?: HealthProbe;
}

const keyOf = (target: HealthTarget) => `${target.host}:${target.port}`;

const httpProbe: HealthProbe = (target, path, timeoutMs) => probeHttp(target.host, target.port, path, timeoutMs);

export class HealthChecker {
  private targets: HealthTarget[];
  private readonly failures = new Map<string, number>();
  private readonly timers: Timers;
  private readonly probe: HealthProbe;
  private readonly timeoutMs: number;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly options: HealthCheckerOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${options.intervalMs}`);
    this.targets = [...options.targets];
    this.timers = options.timers ?? realTimers;
    this.probe = options.probe ?? httpProbe;
    this.timeoutMs = Math.min(options.timeoutMs ?? 2000, options.intervalMs);
  }

  /** Start checking; the first round runs after one interval unless `immediate`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(this.options.immediate === true ? 0 : this.options.intervalMs);
  }

  /** Stop the timer; a round in flight finishes without calling back. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Replace the targets; failure counts of targets that stay are kept. */
  setTargets(targets: HealthTarget[]): void {
    this.targets = [...targets];
    const keep = new Set(targets.map(keyOf));
    for (const key of this.failures.keys()) if (!keep.has(key)) this.failures.delete(key);
  }

  consecutiveFailures(target: HealthTarget): number {
    return this.failures.get(keyOf(target)) ?? 0;
  }

  /** Run one round now (also what the timer does); resolves with its results. */
  async checkNow(): Promise<HealthCheckResult[]> {
    const { path } = this.options;
    const targets = this.targets;
    const outcomes = await Promise.all(
      targets.map((target) =>
        this.probe(target, path, this.timeoutMs).catch((err: unknown): ProbeResult => ({
          ok: false,
          error: String(err),
          latencyMs: 0,
        })),
      ),
    );
    const at = this.timers.now();
    return targets.map((target, i) => {
      const outcome = outcomes[i]!;
      const key = keyOf(target);
      const consecutiveFailures = outcome.ok ? 0 : (this.failures.get(key) ?? 0) + 1;
      // A target removed while the round ran is not counted again.
      if (this.targets.some((t) => keyOf(t) === key)) this.failures.set(key, consecutiveFailures);
      const result: HealthCheckResult = {
        target,
        ok: outcome.ok,
        latencyMs: outcome.latencyMs,
        consecutiveFailures,
        at,
      };
      if (outcome.status !== undefined) result.status = outcome.status;
      if (outcome.error !== undefined) result.error = outcome.error;
      return result;
    });
  }

  private schedule(delayMs: number): void {
    this.timer = this.timers.setTimeout(() => void this.round(), delayMs);
  }

  private async round(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    const startedAt = this.timers.now();
    const results = await this.checkNow();
    if (!this.running) return;
    try {
      this.options.onResults(results);
    } catch {
      /* the caller's bug must not stop the checks */
    }
    if (!this.running) return;
    // Fixed rate: the next round starts one interval after this one started.
    this.schedule(Math.max(0, this.options.intervalMs - (this.timers.now() - startedAt)));
  }
}
