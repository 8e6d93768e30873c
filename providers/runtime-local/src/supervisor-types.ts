// The supervisor's vocabulary: what a release is started with, what a replica reports, the
// events it emits and the supervisor's options.
import type { Timers } from './clock.ts';
import type { RecordedProcess } from './process-group.ts';
import type { BackoffOptions, CrashLoopOptions, ReadinessOptions } from './restart-policy.ts';
import type { Sandbox, SandboxSpec } from './sandbox.ts';

export type ReplicaStatus = 'starting' | 'ready' | 'crashed' | 'stopped' | 'crash-loop';

export interface ReleaseSpec {
  /** Key of the release in this supervisor (and in the proxy's metrics): unique per namespace, e.g. `ns/service@version`. */
  release: string;
  /** `run.command` from deploy.yaml, run by `/bin/sh -c`. */
  command: string;
  /** Directory the command runs in (the unpacked release). */
  cwd: string;
  /** Variables for the service (DATABASE_URL, secrets, …). PORT is added per replica. */
  env?: Record<string, string>;
  replicas: number;
  /** Directory for `replica-<i>.log`; created when missing. */
  logDir: string;
  /** When set, a replica is ready when GET healthPath answers 2xx; otherwise when its port accepts TCP. */
  healthPath?: string;
  /**
   * Run each replica in this sandbox (its own uid, PID namespace and view of the files; see
   * sandbox.ts) instead of as the control plane's user. The bwrap process leads the replica's
   * process group, so stopping and killRecorded work the same.
   */
  sandbox?: { sandbox: Sandbox; spec: SandboxSpec };
}

export interface ReplicaInfo {
  release: string;
  index: number;
  /** pid of the replica's shell, which leads its process group; null while not running. */
  pid: number | null;
  pgid: number | null;
  port: number;
  status: ReplicaStatus;
  restarts: number;
  lastExitCode: number | null;
  lastExitSignal: string | null;
  /** Timestamps from the supervisor's clock. */
  startedAt: number | null;
  readyAt: number | null;
  logFile: string;
}

/** What a control plane persists to find a replica again after a restart. */
export interface RecordedReplica extends RecordedProcess {
  release: string;
  index: number;
  port: number;
}

export type SupervisorEventType = 'started' | 'ready' | 'exited' | 'crash-loop' | 'stopped' | 'port-changed';

export interface SupervisorEvent {
  type: SupervisorEventType;
  release: string;
  replica: number;
  at: number;
  pid?: number;
  port?: number;
  code?: number | null;
  signal?: string | null;
  /** For `exited`: how long the run lasted. */
  uptimeMs?: number;
  /** For `exited`: delay before the restart. */
  restartInMs?: number;
}

export interface SupervisorOptions {
  timers?: Timers;
  backoff?: Partial<BackoffOptions>;
  crashLoop?: Partial<CrashLoopOptions>;
  readiness?: Partial<ReadinessOptions>;
  /** SIGTERM → SIGKILL grace on stop. */
  stopGraceMs?: number;
  /** A replica log file is rotated past this size (default 10 MiB). */
  logMaxBytes?: number;
  /** Rotated copies kept per replica (default 5). */
  logMaxFiles?: number;
  /** Rotated copies older than this are removed (default 7 days). */
  logMaxAgeMs?: number;
  /** Prefix every log line with the time it was written (default true; needs perl on PATH). */
  logTimestamps?: boolean;
  logCheckIntervalMs?: number;
  shell?: string;
  /**
   * Variables copied from the control plane's environment into every replica. Nothing else is
   * inherited: the control plane's own secrets (IDP_ADMIN_TOKEN, IDP_MASTER_KEY) must not leak.
   */
  inheritEnv?: string[];
  onEvent?: (event: SupervisorEvent) => void;
}
