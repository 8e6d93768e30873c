// Connecting to a ready environment: its variables for a person (decided and audited) and for a deployed workload.
import type { EnvironmentConnection } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { enforce, nowSeconds } from './decide.ts';
import type { EnvironmentParts } from './deps.ts';
import { notFound, notReady } from './errors.ts';
import { assertEnvName } from './names.ts';
import { environmentEntity } from './view.ts';

export async function connectEnvironment(
  { deps, store, credentials }: EnvironmentParts,
  ctx: RequestContext,
  name: string,
): Promise<EnvironmentConnection> {
  const row = await store.live(assertEnvName(name, 'name'));
  if (!row) throw notFound(name);
  const decision = await enforce(deps, ctx, 'env:connect', environmentEntity(row), { now: nowSeconds(deps) });
  if (row.status !== 'ready') throw notReady(row, 'connected to');
  const variables = await credentials.variablesOf(row);
  await deps.audit.append({
    actor: ctx.principal.ref,
    action: 'env:connect',
    target: `environment:${row.name}`,
    decision: 'allow',
    policyIds: decision.permittedBy,
    requestId: ctx.requestId,
    details: { variables: Object.keys(variables) },
  });
  return { env: row.name, variables };
}

/**
 * The variables a workload in this environment gets (DATABASE_URL, REDIS_URL,
 * REDIS_KEY_PREFIX), for the deployments capability: no policy here, the deploy was decided.
 */
export async function runtimeVariables(
  { store, credentials }: EnvironmentParts,
  name: string,
): Promise<{ namespace: string; tier: string; variables: Record<string, string> }> {
  const row = await store.live(assertEnvName(name, 'env'));
  if (!row) throw notFound(name);
  if (row.status !== 'ready') throw notReady(row, 'deployed to');
  return { namespace: row.namespace, tier: row.tier, variables: await credentials.variablesOf(row) };
}
