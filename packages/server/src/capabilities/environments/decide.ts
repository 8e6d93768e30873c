// Deciding an environment operation with Cedar, naming the TTL or quota limit when it alone refuses; the owner facts it uses.
import { IdpError } from '@idp/contracts';
import { formatDuration, shortRef, type CedarEntity, type Decision } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { EnvironmentDeps } from './deps.ts';

export async function enforce(
  deps: EnvironmentDeps,
  ctx: RequestContext,
  action: string,
  resource: CedarEntity,
  context: Record<string, unknown>,
  checkInputs?: Record<string, unknown>,
): Promise<Decision> {
  const decision = deps.gate.decide(ctx.principal.ref, { action, resource, context });
  if (decision.decision === 'allow') return decision;
  // Name the limit when it alone is the problem: the same request without it would pass.
  const without = (field: string) => {
    const rest = { ...context };
    delete rest[field];
    return deps.gate.decide(ctx.principal.ref, { action, resource, context: rest }).decision === 'allow';
  };
  const req = { action, resource, context, ...(checkInputs ? { checkInputs } : {}) };
  if (context.ttlSeconds !== undefined && without('ttlSeconds')) {
    return deps.gate.refuse(
      ctx,
      req,
      decision,
      new IdpError(
        'ENV_TTL_TOO_LONG',
        `ttl ${formatDuration(context.ttlSeconds as number)} is longer than the policies allow (${decision.forbiddenBy.join(', ')})`,
        {
          field: 'ttl',
          forbiddenBy: decision.forbiddenBy,
          hint: 'Ask for a shorter --ttl (the default policy allows 14d at most); extend it later with `idp env:extend`.',
        },
      ),
    );
  }
  if (context.ownedEnvironments !== undefined && without('ownedEnvironments')) {
    const yours = await deps.db
      .selectFrom('environments')
      .select('name')
      .where('owner_ref', '=', ctx.principal.ref)
      .where('kind', '=', 'ephemeral')
      .where('status', '<>', 'deleted')
      .where('preview_repo', 'is', null)
      .orderBy('created_at', 'asc')
      .execute();
    return deps.gate.refuse(
      ctx,
      req,
      decision,
      new IdpError(
        'ENV_QUOTA_EXCEEDED',
        `you already own ${context.ownedEnvironments} environments, the most the policies allow (${decision.forbiddenBy.join(', ')})`,
        {
          owned: context.ownedEnvironments,
          forbiddenBy: decision.forbiddenBy,
          yours: yours.map((r) => r.name),
        },
      ),
    );
  }
  return deps.gate.enforce(ctx, req);
}

/**
 * How many live environments of their own a user has (env:create's quota). Pull requests'
 * previews made as the user are their team's, capped per repository instead: not counted.
 */
export async function ownedCount(deps: EnvironmentDeps, ref: string): Promise<number> {
  const owned = await deps.db
    .selectFrom('environments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner_ref', '=', ref)
    .where('kind', '=', 'ephemeral')
    .where('status', '<>', 'deleted')
    .where('preview_repo', 'is', null)
    .executeTakeFirst();
  return Number(owned?.n ?? 0);
}

export function primaryTeam(deps: EnvironmentDeps, userRef: string): string | null {
  const direct = deps.directory.users.get(userRef)?.memberOf ?? [];
  const first = [...direct].sort()[0];
  return first ? shortRef(first) : (deps.directory.teamsOf(userRef)[0] ?? null);
}

export function nowSeconds(deps: EnvironmentDeps): number {
  return Math.floor(deps.clock.now().getTime() / 1000);
}
