// Who may read a service's replica data in an environment (its logs, its traces): whoever may read
// its deployments there (deploy:read, the same decision as `idp deploy:status`) and the members of
// a team whose configured view selects it (observability.teams: namespace|service|env = glob).
// Anyone else gets undefined, and each reader answers that with the same empty result it gives
// for a service that never ran: the answer never confirms that a service or an environment exists.
import type { RequestContext } from '../../auth/context.ts';
import type { TeamViews } from './team-views.ts';

export interface ReadScopeDeps {
  /** The deploy:read filter for a principal (DeployAuthorizer.readable). */
  readable(principalRef: string): Promise<(row: { service: string; env: string }) => Promise<boolean>>;
  /** observability.teams: log selectors that let a team's members read more than deploy:read allows. */
  views?: Pick<TeamViews, 'mayReadLogs'>;
  /** The owning team of a catalog Component, null when it has none. */
  teamOf(service: string): Promise<string | null>;
  /** The live environment's runtime namespace, undefined when there is none of that name. */
  namespaceOf(env: string): Promise<string | undefined>;
}

export interface ReadScope {
  service: string;
  env: string;
  namespace: string;
  /** '' when the service has no owning team. */
  team: string;
}

/** Names as the runtime makes directories and keys of them: anything else cannot have data (and must not reach a path). */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The service's scope in the environment when the caller may read it; else undefined. */
export async function readScope(
  deps: ReadScopeDeps,
  ctx: RequestContext,
  q: { service: string; env: string },
): Promise<ReadScope | undefined> {
  if (!SAFE_NAME.test(q.service) || !SAFE_NAME.test(q.env)) return undefined;
  const readable = await deps.readable(ctx.principal.ref);
  const byDeployRead = await readable({ service: q.service, env: q.env });
  // A team view may select by namespace, so the environment's namespace is looked up (and
  // nothing else read) before it decides; the answer stays the same empty one either way.
  const namespace = await deps.namespaceOf(q.env);
  if (namespace === undefined || !SAFE_NAME.test(namespace)) return undefined;
  if (!byDeployRead) {
    const where = { service: q.service, env: q.env, namespace };
    if (!((await deps.views?.mayReadLogs(ctx.principal, where)) ?? false)) return undefined;
  }
  const team = (await deps.teamOf(q.service)) ?? '';
  return { service: q.service, env: q.env, namespace, team };
}
