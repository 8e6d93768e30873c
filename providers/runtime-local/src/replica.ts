// One replica of a release: spawning it in its own process group, readiness probes, restart with backoff, crash loops, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { TimerHandle } from './clock.ts';
import { stamped } from './log-stamp.ts';
import { appendLogLine } from './logs.ts';
import { findFreePort, isPortFree, probeHttp, probeTcp } from './probe.ts';
import { isGroupAlive, processStartTime, signalGroup, terminateGroup } from './process-group.ts';
import { CrashLoopDetector, backoffDelay } from './restart-policy.ts';
import type { Settings } from './supervisor-settings.ts';
import type { RecordedReplica, ReleaseSpec, ReplicaInfo, ReplicaStatus, SupervisorEvent } from './supervisor-types.ts';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class Replica {
  status: ReplicaStatus = 'starting';
  pid: number | null = null;
  /** Group of the current run; null once a finished run's group has been killed. */
  pgid: number | null = null;
  startTime: number | undefined;
  restarts = 0;
  lastExitCode: number | null = null;
  lastExitSignal: string | null = null;
  startedAt: number | null = null;
  readyAt: number | null = null;

  private child: ChildProcess | undefined;
  private generation = 0;
  private failures = 0;
  private stopping = false;
  private restartTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private exitWaiters: Array<() => void> = [];
  private readonly detector: CrashLoopDetector;

  constructor(
    private readonly spec: ReleaseSpec,
    private readonly settings: Settings,
    readonly index: number,
    public port: number,
    readonly logFile: string,
    private readonly changed: () => void,
  ) {
    this.detector = new CrashLoopDetector(settings.crashLoop, () => settings.timers.now());
  }

  info(): ReplicaInfo {
    return {
      release: this.spec.release,
      index: this.index,
      pid: this.pid,
      pgid: this.child === undefined ? null : this.pgid,
      port: this.port,
      status: this.status,
      restarts: this.restarts,
      lastExitCode: this.lastExitCode,
      lastExitSignal: this.lastExitSignal,
      startedAt: this.startedAt,
      readyAt: this.readyAt,
      logFile: this.logFile,
    };
  }

  private emit(event: Omit<SupervisorEvent, 'release' | 'replica' | 'at'>): void {
    try {
      this.settings.onEvent({
        release: this.spec.release,
        replica: this.index,
        at: this.settings.timers.now(),
        ...event,
      });
    } catch {
      /* a listener's bug must not break supervision */
    }
  }

  launch(): void {
    this.launchAsync().catch((err: unknown) => this.onExit(this.generation, null, null, err));
  }

  private async launchAsync(): Promise<void> {
    if (this.stopping) return;
    if (this.restarts > 0 && !(await isPortFree(this.port))) {
      // Someone took the port while the replica was down: move rather than crash-loop on EADDRINUSE.
      this.port = await findFreePort();
      this.emit({ type: 'port-changed', port: this.port });
    }
    if (this.stopping) return;
    const { settings, spec } = this;
    const generation = ++this.generation;
    appendLogLine(this.logFile, `--- idp: replica ${this.index + 1} starting on port ${this.port} ---`);
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const port = String(this.port);
      const target = spec.sandbox
        ? {
            ...spec.sandbox.sandbox.command(spec.sandbox.spec, spec.command),
            env: { ...spec.sandbox.sandbox.baseEnv(spec.sandbox.spec), ...spec.env, PORT: port },
          }
        : { file: settings.shell, args: ['-c', spec.command], env: { ...settings.baseEnv, ...spec.env, PORT: port } };
      const run = stamped(target, settings.perl);
      child = spawn(run.file, run.args, {
        cwd: spec.cwd,
        env: target.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd); // the child has its own copy
    }
    this.child = child;
    this.startedAt = settings.timers.now();
    this.readyAt = null;
    if (this.status !== 'crash-loop') this.status = 'starting';
    child.once('exit', (code, signal) => this.onExit(generation, code, signal));
    child.once('error', (err) => {
      // 'error' without a pid: the spawn itself failed (e.g. cwd missing) and no 'exit' follows.
      if (child.pid === undefined) this.onExit(generation, null, null, err);
    });
    if (child.pid === undefined) return;
    child.unref();
    this.pid = child.pid;
    this.pgid = child.pid;
    this.startTime = processStartTime(child.pid);
    this.emit({ type: 'started', pid: child.pid, port: this.port });
    this.changed();
    this.scheduleProbe(generation, settings.readiness.intervalMs);
  }

  private scheduleProbe(generation: number, delayMs: number): void {
    this.probeTimer = this.settings.timers.setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe(generation);
    }, delayMs);
  }

  private isCurrent(generation: number): boolean {
    return generation === this.generation && this.child !== undefined && !this.stopping;
  }

  private async probe(generation: number): Promise<void> {
    if (!this.isCurrent(generation)) return;
    const { intervalMs, timeoutMs } = this.settings.readiness;
    const result =
      this.spec.healthPath === undefined
        ? await probeTcp('127.0.0.1', this.port, timeoutMs)
        : await probeHttp('127.0.0.1', this.port, this.spec.healthPath, timeoutMs);
    if (!this.isCurrent(generation)) return;
    if (!result.ok) {
      this.scheduleProbe(generation, intervalMs);
      return;
    }
    this.status = 'ready';
    this.readyAt = this.settings.timers.now();
    this.emit({ type: 'ready', pid: this.pid ?? undefined, port: this.port });
    this.changed();
  }

  private onExit(generation: number, code: number | null, signal: NodeJS.Signals | null, error?: unknown): void {
    if (generation !== this.generation) return;
    const { settings } = this;
    const wasRunning = this.child !== undefined;
    if (!wasRunning && error === undefined) return;
    const pid = this.pid;
    this.child = undefined;
    this.pid = null;
    if (this.probeTimer !== undefined) settings.timers.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    // Whatever the command left behind would hold the port or keep writing the log. Not while
    // stopping: the shell may die of SIGTERM first, and the service deserves its grace period.
    if (this.pgid !== null && !this.stopping) {
      signalGroup(this.pgid, 'SIGKILL');
      // Forget the id: once the group is gone the kernel may hand it to an unrelated process.
      this.pgid = null;
    }
    this.lastExitCode = code;
    this.lastExitSignal = signal;
    const uptimeMs = this.startedAt === null ? 0 : settings.timers.now() - this.startedAt;
    const reason =
      error === undefined
        ? `code ${code}${signal ? `, signal ${signal}` : ''}`
        : `spawn failed: ${error instanceof Error ? error.message : String(error)}`;
    appendLogLine(
      this.logFile,
      `--- idp: replica ${this.index + 1} (pid ${pid ?? '-'}) exited (${reason}) after ${Math.round(uptimeMs)} ms ---`,
    );
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    if (this.stopping) return;

    if (uptimeMs >= settings.backoff.resetAfterMs) this.failures = 0;
    this.failures++;
    const restartInMs = backoffDelay(this.failures, settings.backoff);
    const loop = this.detector.recordExit();
    const enteringLoop = loop && this.status !== 'crash-loop';
    if (loop) this.status = 'crash-loop';
    else if (this.status !== 'crash-loop') this.status = 'crashed';
    this.emit({ type: 'exited', code, signal, uptimeMs, restartInMs });
    if (enteringLoop) this.emit({ type: 'crash-loop', code, signal });
    this.changed();
    this.restartTimer = settings.timers.setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.launch();
    }, restartInMs);
  }

  /** SIGTERM the group, SIGKILL after graceMs; resolves when no process of the replica is left. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const { timers } = this.settings;
    if (this.restartTimer !== undefined) timers.clearTimeout(this.restartTimer);
    if (this.probeTimer !== undefined) timers.clearTimeout(this.probeTimer);
    this.restartTimer = this.probeTimer = undefined;
    const running = this.child !== undefined;
    const exited = running ? new Promise<void>((resolve) => this.exitWaiters.push(resolve)) : Promise.resolve();
    if (this.pgid !== null && isGroupAlive(this.pgid)) await terminateGroup(this.pgid, graceMs);
    if (running) {
      // The group is gone; the 'exit' event follows as soon as Node reaps the shell.
      await Promise.race([exited, delay(2000)]);
    }
    this.child = undefined;
    this.pid = null;
    this.status = 'stopped';
    this.emit({ type: 'stopped' });
    this.changed();
  }

  recorded(): RecordedReplica | undefined {
    if (this.child === undefined || this.pid === null || this.pgid === null) return undefined;
    const record: RecordedReplica = {
      release: this.spec.release,
      index: this.index,
      port: this.port,
      pid: this.pid,
      pgid: this.pgid,
    };
    if (this.startTime !== undefined) record.startTime = this.startTime;
    return record;
  }
}
