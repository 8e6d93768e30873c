// The replicas of one release as a group: starting them on free ports, waiting until ready, log rotation and tails, stop.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { unrefTimer, type TimerHandle } from './clock.ts';
import { RuntimeError } from './errors.ts';
import { rotateLogFile } from './log-rotation.ts';
import { readLogTail } from './logs.ts';
import { findFreePort } from './probe.ts';
import { Replica } from './replica.ts';
import { settingsFrom, type Settings } from './supervisor-settings.ts';
import type { RecordedReplica, ReleaseSpec, ReplicaInfo, SupervisorOptions } from './supervisor-types.ts';

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
    const { timers, logCheckIntervalMs, logMaxBytes, logMaxFiles, logMaxAgeMs } = this.settings;
    this.logTimer = timers.setTimeout(() => {
      if (this.stopped) return;
      for (const member of this.members) {
        try {
          rotateLogFile(member.logFile, { maxBytes: logMaxBytes, maxFiles: logMaxFiles, maxAgeMs: logMaxAgeMs });
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
