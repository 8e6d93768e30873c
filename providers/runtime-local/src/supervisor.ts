// Process supervisor: runs a release as N replicas, restarts them with backoff, detects crash
// loops, tells when they are ready, and stops whole process trees.
//
// Each replica is `/bin/sh -c <run.command>` in the release directory, in its own session and
// process group (so a signal to -pgid reaches everything the command started), with stdout and
// stderr going straight to a per-replica log file. Replicas are detached on purpose: they keep
// serving while the control plane restarts. The price is that the caller must persist
// `recorded()` (pid, pgid, start time) and, after a restart, kill what it does not adopt with
// `killRecorded()` (see process-group.ts).
import { RuntimeError } from './errors.ts';
import { ReleaseProcesses } from './release-processes.ts';
import type { RecordedReplica, ReleaseSpec, SupervisorOptions } from './supervisor-types.ts';

export { ReleaseProcesses } from './release-processes.ts';

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
