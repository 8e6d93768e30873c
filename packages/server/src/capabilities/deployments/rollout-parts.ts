// What the rollout runner's parts share: its deps, the stable release of every slot, and whether it stopped.
import type { Kysely } from 'kysely';
import type { EdgeProxy, ProcessSupervisor, ReleaseProcesses } from '@idp/runtime-local';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { RuntimeIsolation } from '../runtime/index.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { Releases } from './releases.ts';

/** What the runner needs: a subset of the service's deps (DeploymentDeps satisfies it). */
export interface RolloutRunnerDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  clock: Clock;
  releases: Releases;
  environments: EnvironmentService;
  secrets: SecretsService;
  proxy: EdgeProxy;
  supervisor: ProcessSupervisor;
  isolation: RuntimeIsolation;
  log: (line: string) => void;
  /** Told of each rollout loop's observations and end (the control plane's reconciler lag metric). */
  ticks?: RolloutTicks;
  /** Variables the platform gives every replica of a release besides IDP_* (the OTLP exporter's endpoint and token). */
  workloadEnv?: (release: { namespace: string; service: string; version: string }) => Record<string, string>;
}

export interface RolloutTicks {
  observed(deploymentId: string): void;
  ended(deploymentId: string): void;
}

/** The release serving a service in an environment (the slot `env/service`). */
export interface Stable {
  version: string;
  key: string;
  procs: ReleaseProcesses;
}

/** The runner's deps and state, passed to each of its parts. */
export interface RunnerParts {
  deps: RolloutRunnerDeps;
  /** The stable release of every slot (`env/service`). */
  stables: Map<string, Stable>;
  /** True once the runner is stopping: rollouts end without a verdict. */
  stopped: () => boolean;
  /** Aborted when the runner stops: a wait (replicas getting ready) ends at once. */
  stopping: AbortSignal;
}

/** `wait`'s outcome, or 'stopped' as soon as the runner stops (the wait is left to end by itself). */
export function unlessStopped<T>(parts: RunnerParts, wait: Promise<T>): Promise<T | 'stopped'> {
  if (parts.stopping.aborted) return Promise.resolve('stopped');
  return new Promise<T | 'stopped'>((resolve, reject) => {
    const onStop = () => resolve('stopped');
    parts.stopping.addEventListener('abort', onStop, { once: true });
    wait.then(
      (v) => {
        parts.stopping.removeEventListener('abort', onStop);
        resolve(v);
      },
      (err: unknown) => {
        parts.stopping.removeEventListener('abort', onStop);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
