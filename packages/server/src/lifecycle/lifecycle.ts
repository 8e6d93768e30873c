/** A component's stop that failed or did not finish in time. */
export interface StopFailure {
  name: string;
  error: Error;
}

export interface LifecycleOptions {
  /** How long one component's stop may take before the others go on without it (default 15 s). */
  stopTimeoutMs?: number;
  /** Where failures are reported as they happen; stderr by default. */
  log?: (line: string) => void;
}

interface Component {
  name: string;
  stop: () => Promise<void> | void;
  timeoutMs: number;
}

const DEFAULT_STOP_TIMEOUT_MS = 15_000;

/**
 * What the composition root started, and how to stop it. Each component registers its stop as
 * soon as it exists (so a later start-up failure still stops it); `stopAll` stops them in the
 * reverse order, so a component stops before the things it was built on (the HTTP server before
 * the services, the services before the store). One failing or hanging stop neither prevents the
 * others nor keeps the process alive: each is bounded by a timeout and its failure collected.
 */
export class Lifecycle {
  private readonly components: Component[] = [];
  private stopping: Promise<StopFailure[]> | null = null;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;

  constructor(opts: LifecycleOptions = {}) {
    this.timeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** True once `stopAll` was called. */
  get stopped(): boolean {
    return this.stopping !== null;
  }

  /** The registered names, in registration order. */
  get names(): string[] {
    return this.components.map((c) => c.name);
  }

  /**
   * Adds a component's stop (`timeoutMs` overrides the default bound for a component that needs
   * longer, e.g. replicas' SIGTERM grace period). After `stopAll` began, nothing will call it later, so the component
   * is stopped at once (a start that raced the shutdown leaves nothing running).
   */
  register(name: string, stop: () => Promise<void> | void, opts: { timeoutMs?: number } = {}): void {
    const component = { name, stop, timeoutMs: opts.timeoutMs ?? this.timeoutMs };
    if (this.stopping) {
      void this.stopOne(component).then((failure) => {
        if (failure) this.report(failure);
      });
      return;
    }
    this.components.push(component);
  }

  /** Stops every component, last registered first; calling it again returns the same result. */
  stopAll(): Promise<StopFailure[]> {
    this.stopping ??= this.stopInReverse();
    return this.stopping;
  }

  private async stopInReverse(): Promise<StopFailure[]> {
    const failures: StopFailure[] = [];
    for (const component of [...this.components].reverse()) {
      const failure = await this.stopOne(component);
      if (failure) {
        failures.push(failure);
        this.report(failure);
      }
    }
    return failures;
  }

  private async stopOne(component: Component): Promise<StopFailure | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Error>((resolve) => {
      timer = setTimeout(
        () => resolve(new Error(`did not stop within ${component.timeoutMs} ms; going on without it`)),
        component.timeoutMs,
      );
      timer.unref();
    });
    try {
      const stop = Promise.resolve().then(() => component.stop());
      const outcome = await Promise.race([stop.then(() => null), timeout]);
      return outcome ? { name: component.name, error: outcome } : null;
    } catch (err) {
      return { name: component.name, error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      clearTimeout(timer);
    }
  }

  private report(failure: StopFailure): void {
    this.log(`warning: stopping ${failure.name} failed: ${failure.error.message}`);
  }
}
