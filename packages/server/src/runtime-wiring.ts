// The composition root's runtime part: releases, the edge proxy, the process supervisor with
// the scrape targets and trace receiver that follow its replicas, and the deployments service,
// hooked into the environments' namespaces. Started here, stopped through the lifecycle.
import { EdgeProxy, ProcessSupervisor } from '@idp/runtime-local';
import type { Kysely } from 'kysely';
import type { AuditLog } from './audit/index.ts';
import type { Clock, IdSource } from './clock.ts';
import type { IdpConfig } from './config/index.ts';
import type { Lifecycle } from './lifecycle/index.ts';
import type { PolicyGate } from './policy/gate.ts';
import type { Database } from './store/index.ts';
import { listenFailure } from './lifecycle/index.ts';
import {
  DeployAuthorizer,
  DeploymentService,
  MIB,
  Releases,
  type ServiceOwners,
} from './capabilities/deployments/index.ts';
import type { EnvironmentService } from './capabilities/environments/index.ts';
import { logRotationOptions } from './capabilities/observability/log-rotation-settings.ts';
import { ScrapeTargets, prometheusDir, scrapeFacts } from './capabilities/observability/index.ts';
import type { ReconcilerLag } from './capabilities/observability/reconciler-lag.ts';
import { startTraces, type TracesSetup } from './capabilities/observability/traces-setup.ts';
import type { RuntimeIsolation } from './capabilities/runtime/index.ts';
import type { SecretsService } from './capabilities/secrets/index.ts';

export interface RuntimeParts {
  releases: Releases;
  proxy: EdgeProxy;
  supervisor: ProcessSupervisor;
  scrapeTargets: ScrapeTargets;
  traces: TracesSetup;
  deployments: DeploymentService;
}

export async function composeRuntime(d: {
  config: IdpConfig;
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  clock: Clock;
  ids: IdSource;
  environments: EnvironmentService;
  secrets: SecretsService;
  owners: ServiceOwners;
  authz: DeployAuthorizer;
  isolation: RuntimeIsolation;
  reconcilerLag: ReconcilerLag;
  lifecycle: Lifecycle;
  dataDir: string;
  host: string;
  proxyPort: number;
  otlpPort: number | undefined;
  log: (line: string) => void;
}): Promise<RuntimeParts> {
  const {
    config,
    audit,
    gate,
    clock,
    ids,
    environments,
    secrets,
    owners,
    authz,
    isolation,
    reconcilerLag,
    lifecycle,
    dataDir,
    log,
  } = d;
  const limits = config.deployments.releases;
  const releases = new Releases({
    db: d.db,
    audit,
    clock,
    authz,
    dataDir,
    isolation,
    limits: {
      maxUploadBytes: limits.maxUploadMiB * MIB,
      maxUnpackedBytes: limits.maxUnpackedMiB * MIB,
      maxFiles: limits.maxFiles,
    },
  });
  const proxyPort = d.proxyPort;
  const proxyHost = d.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1';
  const proxy = new EdgeProxy({
    port: proxyPort,
    host: proxyHost,
    spansPerRoute: config.observability.traces.spansPerService,
  });
  let onReplicaStarted: (release: string) => void = () => {};
  // The workloads' file_sd targets follow the supervisor's replicas (deploy.yaml `metrics:`).
  const scrapeTargets = new ScrapeTargets({
    dir: prometheusDir(dataDir),
    running: () => supervisor.list().map((group) => ({ release: group.release, replicas: group.replicas() })),
    facts: scrapeFacts({ db: d.db, releases, owners }),
    log,
  });
  const supervisor = new ProcessSupervisor({
    ...logRotationOptions(config.observability.logs),
    onEvent: (e) => {
      if (e.type === 'crash-loop') log(`deployments: ${e.release} replica ${e.replica + 1} is in a crash loop`);
      if (e.type === 'started') onReplicaStarted(e.release);
      scrapeTargets.onSupervisorEvent(e);
    },
  });
  // Before any replica starts: each is given the receiver's endpoint and its own trace token.
  const traces = await startTraces({
    settings: config.observability.traces,
    port: d.otlpPort,
    // Loopback only, whatever the API listens on: only the replicas on this host export to it.
    host: '127.0.0.1',
    dataDir,
    lifecycle,
    log,
  });
  environments.addNamespaceHook({ onDelete: async (ns) => traces.store.forgetNamespace(ns) });
  const deployments = new DeploymentService({
    db: d.db,
    audit,
    gate,
    clock,
    ids,
    releases,
    environments,
    secrets,
    owners,
    authz,
    proxy,
    supervisor,
    freezes: config.deployments.freezes,
    dataDir,
    isolation,
    log,
    ticks: reconcilerLag,
    workloadEnv: traces.workloadEnv,
  });
  // Stops the replicas (process groups) and closes the edge proxy; longer than the default
  // bound: a replica gets its SIGTERM grace (10 s) before the SIGKILL.
  lifecycle.register('deployments', () => deployments.stop(), { timeoutMs: 30_000 });
  // After the deployments' hook: a namespace's replicas stop before its user is removed.
  environments.addNamespaceHook({
    onCreate: (ns) => isolation.onNamespaceCreate(ns),
    onDelete: (ns) => isolation.onNamespaceDelete(ns),
  });
  environments.addNamespaceHook({ onDelete: (ns) => scrapeTargets.remove(ns) });
  // Environment jobs run the namespace hooks above, so they stop before the deployments do.
  lifecycle.register('environments', () => environments.stop());
  onReplicaStarted = (release) =>
    void deployments
      .recordProcesses(release)
      .catch((err: Error) => log(`deployments: could not record the processes of ${release}: ${err.message}`));
  // Stable releases get their processes and routes back before the proxy takes a request, so
  // it never answers "no route" for a service that is deployed.
  await deployments.restore();
  await proxy.listen().catch((err: unknown) => {
    throw listenFailure('edge proxy', { host: proxyHost, port: proxyPort }, err);
  });
  return { releases, proxy, supervisor, scrapeTargets, traces, deployments };
}
