// Starting a release's replicas under the supervisor, with the environment's variables, the service's secrets and its sandbox.
import { join } from 'node:path';
import type { ReleaseProcesses } from '@idp/runtime-local';
import type { RolloutRunnerDeps } from './rollout-parts.ts';
import { releaseKey } from './view.ts';

export async function startRelease(
  deps: RolloutRunnerDeps,
  service: string,
  env: string,
  namespace: string,
  version: string,
): Promise<ReleaseProcesses> {
  const { spec, dir } = await deps.releases.get(service, version);
  const { variables } = await deps.environments.runtimeVariables(env);
  const secrets = await deps.secrets.valuesFor(env, service);
  return deps.supervisor.start({
    release: releaseKey(namespace, service, version),
    command: spec.run.command,
    cwd: dir,
    env: {
      ...secrets,
      ...variables,
      // After secrets and variables: the trace token says who the replica is, nobody may set it.
      ...deps.workloadEnv?.({ namespace, service, version }),
      IDP_SERVICE: service,
      IDP_ENV: env,
      IDP_RELEASE_VERSION: version,
    },
    replicas: spec.run.replicas,
    logDir: join(deps.environments.namespaceDir(namespace), 'logs', service, version),
    sandbox: await deps.isolation.replica(namespace, service, dir),
  });
}
