// Reading environments: the list a principal may read, and one environment by name.
import type { Environment, EnvironmentListQuery } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { enforce, nowSeconds } from './decide.ts';
import type { EnvironmentParts } from './deps.ts';
import { notFound } from './errors.ts';
import { assertEnvName } from './names.ts';
import { environmentEntity, environmentView } from './view.ts';

export async function listEnvironments(
  { deps, store }: EnvironmentParts,
  ctx: RequestContext,
  q: EnvironmentListQuery,
): Promise<Environment[]> {
  let query = deps.db.selectFrom('environments').selectAll().orderBy('created_at', 'desc').limit(500);
  if (q.includeDeleted !== 'true') query = query.where('status', '<>', 'deleted');
  if ((q.scope ?? 'mine') === 'mine') {
    // Yours: the ones you made, and the pull requests' previews your teams own.
    const ref = ctx.principal.ref;
    const teams = deps.directory.teamsOf(ref);
    query = teams.length
      ? query.where((eb) =>
          eb.or([eb('owner_ref', '=', ref), eb.and([eb('preview_repo', 'is not', null), eb('team', 'in', teams)])]),
        )
      : query.where('owner_ref', '=', ref);
  }
  const rows = await query.execute();
  const visible = rows.filter(
    (r) =>
      deps.gate.decide(ctx.principal.ref, {
        action: 'env:read',
        resource: environmentEntity(r),
        context: { now: nowSeconds(deps) },
      }).decision === 'allow',
  );
  const steps = await store.stepsFor(visible.map((r) => r.id));
  return visible.map((r) => environmentView(r, steps.get(r.id) ?? [], deps.infra));
}

export async function getEnvironment(
  { deps, store }: EnvironmentParts,
  ctx: RequestContext,
  name: string,
): Promise<Environment> {
  const row = await store.latest(assertEnvName(name, 'name'));
  if (!row) throw notFound(name);
  await enforce(deps, ctx, 'env:read', environmentEntity(row), { now: nowSeconds(deps) });
  return environmentView(row, await store.stepsOf(row.id), deps.infra);
}
