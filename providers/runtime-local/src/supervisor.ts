// Process supervisor: runs a release as N replicas, restarts them with backoff, detects crash
// loops, tells when they are ready, and stops whole process trees.
//
// Each replica is `/bin/sh -c <run.command>` in the release directory, in its own session and
// process group (so a signal to -pgid reaches everything the command started), with stdout and
// stderr going straight to a per-replica log file. Replicas are detached on purpose: they keep
// serving while the control plane restarts. The price is that the caller must persist
// `recorded()` (pid, pgid, start time) and, after a restart, kill what it does not adopt with
// `killRecorded()` (see process-group.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { realTimers, unrefTimer, type TimerHandle, type Timers } from './clock.ts';
import { RuntimeError } from './errors.ts';
import { appendLogLine, capLogFile, readLogTail } from './logs.ts';
import { findFreePort, isPortFree, probeHttp, probeTcp } from './probe.ts';
import { isGroupAlive, processStartTime, signalGroup, terminateGroup } from './process-group.ts';
import {
  CrashLoopDetector,
  DEFAULT_BACKOFF,
  DEFAULT_CRASH_LOOP,
  DEFAULT_READINESS,
  backoffDelay,
  type BackoffOptions,
  type CrashLoopOptions,
  type ReadinessOptions,
} from './restart-policy.ts';
import type {
  RecordedReplica,
  ReleaseSpec,
  ReplicaInfo,
  ReplicaStatus,
  SupervisorEvent,
  SupervisorOptions,
} from './supervisor-types.ts';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const DEFAULT_INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

interface Settings {
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

function settingsFrom(options: SupervisorOptions): Settings {
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

class Replica {
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
      child = spawn(target.file, target.args, {
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

/** The replicas of one release. Create through `ProcessSupervisor.start` or `ReleaseProcesses.start`. */
export class ReleaseProcesses {
  private readonly waiters = new Set<() => void>();
  private logTimer: TimerHandle | undefined;
  private stopped = false;

  private constructor(
    readonly spec: ReleaseSpec,
    private readonly settings: Settings,
    private readonly members: Replica[],
  ) {}

  get release(): string {
    return this.spec.release;
  }

  static async start(spec: ReleaseSpec, options: SupervisorOptions = {}): Promise<ReleaseProcesses> {
    const settings = settingsFrom(options);
    if (!Number.isInteger(spec.replicas) || spec.replicas < 1)
      throw new RangeError(`replicas must be a positive integer, got ${spec.replicas}`);
    mkdirSync(spec.logDir, { recursive: true });
    const members: Replica[] = [];
    const group = new ReleaseProcesses(spec, settings, members);
    const ports = new Set<number>();
    for (let index = 0; index < spec.replicas; index++) {
      let port = await findFreePort();
      while (ports.has(port)) port = await findFreePort();
      ports.add(port);
      members.push(
        new Replica(spec, settings, index, port, join(spec.logDir, `replica-${index + 1}.log`), () => group.notify()),
      );
    }
    for (const member of members) member.launch();
    group.scheduleLogCheck();
    return group;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private scheduleLogCheck(): void {
    const { timers, logCheckIntervalMs, logMaxBytes } = this.settings;
    this.logTimer = timers.setTimeout(() => {
      if (this.stopped) return;
      for (const member of this.members) {
        try {
          capLogFile(member.logFile, logMaxBytes);
        } catch {
          /* retried at the next check */
        }
      }
      this.scheduleLogCheck();
    }, logCheckIntervalMs);
    unrefTimer(this.logTimer);
  }

  replicas(): ReplicaInfo[] {
    return this.members.map((member) => member.info());
  }

  /** Addresses of the ready replicas, for the proxy and the health checker. */
  targets(): Array<{ host: string; port: number }> {
    return this.members
      .filter((member) => member.status === 'ready')
      .map((member) => ({ host: '127.0.0.1', port: member.port }));
  }

  /**
   * Resolves when every replica is ready; rejects at once with CRASH_LOOP when one is in a crash
   * loop (so a rollout fails fast), with READY_TIMEOUT after timeoutMs, or RELEASE_STOPPED.
   */
  waitReady(timeoutMs: number): Promise<ReplicaInfo[]> {
    return new Promise((resolve, reject) => {
      const { timers } = this.settings;
      const finish = (fn: () => void) => {
        this.waiters.delete(check);
        timers.clearTimeout(timer);
        fn();
      };
      const check = () => {
        if (this.stopped)
          return finish(() =>
            reject(
              new RuntimeError('RELEASE_STOPPED', `release ${this.release} was stopped`, { release: this.release }),
            ),
          );
        const infos = this.replicas();
        const looping = infos.find((info) => info.status === 'crash-loop');
        if (looping !== undefined) {
          return finish(() =>
            reject(
              new RuntimeError(
                'CRASH_LOOP',
                `replica ${looping.index + 1} of ${this.release} keeps exiting (last exit code ${looping.lastExitCode}, signal ${looping.lastExitSignal})`,
                {
                  release: this.release,
                  replica: looping,
                  logTail: this.logTail(looping.index, 4096),
                },
              ),
            ),
          );
        }
        if (infos.every((info) => info.status === 'ready')) return finish(() => resolve(infos));
      };
      const timer = timers.setTimeout(
        () =>
          finish(() =>
            reject(
              new RuntimeError('READY_TIMEOUT', `${this.release} not ready after ${timeoutMs} ms`, {
                release: this.release,
                replicas: this.replicas(),
              }),
            ),
          ),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  /** The last maxBytes of a replica's stdout and stderr. */
  logTail(index: number, maxBytes = 64 * 1024): string {
    const member = this.members[index];
    if (member === undefined) throw new RangeError(`${this.release} has no replica ${index}`);
    return readLogTail(member.logFile, maxBytes);
  }

  /** What to persist so a restarted control plane can find (and kill) these processes. */
  recorded(): RecordedReplica[] {
    return this.members.flatMap((member) => member.recorded() ?? []);
  }

  /** Stop every replica; resolves when all their processes are gone. */
  async stop(graceMs = this.settings.stopGraceMs): Promise<void> {
    this.stopped = true;
    if (this.logTimer !== undefined) this.settings.timers.clearTimeout(this.logTimer);
    await Promise.all(this.members.map((member) => member.stop(graceMs)));
    this.notify();
  }
}

/** Runs releases; one per `spec.release` key. */
export class ProcessSupervisor {
  private readonly releases = new Map<string, ReleaseProcesses>();
  private readonly starting = new Set<string>();

  constructor(private readonly options: SupervisorOptions = {}) {}

  async start(spec: ReleaseSpec): Promise<ReleaseProcesses> {
    if (this.releases.has(spec.release) || this.starting.has(spec.release)) {
      throw new RuntimeError('RELEASE_RUNNING', `release ${spec.release} is already running`, {
        release: spec.release,
      });
    }
    this.starting.add(spec.release);
    try {
      const group = await ReleaseProcesses.start(spec, this.options);
      this.releases.set(spec.release, group);
      return group;
    } finally {
      this.starting.delete(spec.release);
    }
  }

  get(release: string): ReleaseProcesses | undefined {
    return this.releases.get(release);
  }

  list(): ReleaseProcesses[] {
    return [...this.releases.values()];
  }

  async stop(release: string, graceMs?: number): Promise<void> {
    const group = this.releases.get(release);
    if (group === undefined) return;
    await group.stop(graceMs);
    this.releases.delete(release);
  }

  async stopAll(graceMs?: number): Promise<void> {
    await Promise.all([...this.releases.keys()].map((release) => this.stop(release, graceMs)));
  }

  recorded(): RecordedReplica[] {
    return this.list().flatMap((group) => group.recorded());
  }
}
