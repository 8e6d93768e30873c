import type { UndeployRequest, UndeployResult } from '@idp/contracts';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Database } from '../../store/index.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { DeployAuthorizer } from './authz.ts';
import type { RolloutRunner } from './runner.ts';
import { assertNoRolloutRunning } from './in-progress.ts';

/**
 * `idp undeploy`: a deployed service stops in one environment, short of deleting the
 * environment. Decided like a deploy (deploy:undeploy on the Service and the Environment; in
 * production behind the same grant), refused while a rollout runs, audited. Its replicas stop and
 * its route goes (the proxy then answers PROXY_NO_ROUTE); releases and deployment history stay, so
 * `idp deploy` or `idp rollback` bring it back. Not deployed there: nothing to do, answered with
 * `stopped: false` (and audited as such), so a repeated undeploy succeeds.
 */
/** What undeploying needs: a subset of the service's deps (DeploymentDeps satisfies it). */
export interface UndeployDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  authz: DeployAuthorizer;
  environments: EnvironmentService;
}

export async function undeployService(
  deps: UndeployDeps,
  runner: RolloutRunner,
  ctx: RequestContext,
  req: UndeployRequest,
): Promise<UndeployResult> {
  const { service, env } = req;
  const envRow = await deps.authz.environment(env);
  const team = await deps.authz.teamOf(service);
  const decisions = await deps.authz.authorize(ctx, { action: 'deploy:undeploy', service, team, env: envRow });
  const policyIds = [
    ...new Set([...decisions.service.permittedBy, ...(decisions.environment?.permittedBy ?? [])]),
  ].sort();
  const { namespace } = await deps.environments.runtimeVariables(env);

  let current: { version: string; deployment_id: string } | undefined;
  await deps.db.transaction().execute(async (trx) => {
    await assertNoRolloutRunning(trx, env, service, 'undeploy');
    current = await trx
      .selectFrom('service_runtime')
      .select(['version', 'deployment_id'])
      .where('env', '=', env)
      .where('service', '=', service)
      .executeTakeFirst();
    if (current)
      await trx.deleteFrom('service_runtime').where('env', '=', env).where('service', '=', service).execute();
    await deps.audit.append(
      {
        actor: ctx.principal.ref,
        action: 'deploy:undeploy',
        target: `service:${service}`,
        decision: 'allow',
        policyIds,
        requestId: ctx.requestId,
        details: current
          ? { env, version: current.version, deployment: current.deployment_id }
          : { env, notDeployed: true },
      },
      trx,
    );
  });
  // After the commit: a restart from here on does not start it again (its runtime row is gone).
  const replicas = current ? await runner.stopService(env, service) : 0;
  return {
    service,
    env,
    namespace,
    stopped: current !== undefined,
    version: current?.version ?? null,
    deploymentId: current?.deployment_id ?? null,
    replicas,
  };
}
