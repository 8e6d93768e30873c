import { IdpError } from '@idp/contracts';
import { closestMatch, parseDuration, shortRef, type CedarEntity } from '@idp/core';
import type { CheckQuestion, PolicyGate } from '../../policy/gate.ts';
import type { BaseEnvironmentConfig } from './types.ts';

/** Who asks to clone, as env:create's policy sees them. */
export interface Cloner {
  ref: string;
  team: string | null;
}

/**
 * The Environment entity env:create is decided on: the new environment, owned by the caller, with
 * its source's tier. The real check (EnvironmentService.create) and the did-you-mean below build it
 * here, so a suggestion is never a base the policies would refuse.
 */
export function cloneEntity(name: string, from: string, source: BaseEnvironmentConfig, who: Cloner): CedarEntity {
  return {
    uid: { type: 'Environment', id: name },
    attrs: {
      owner: { type: 'User', id: shortRef(who.ref) },
      ...(who.team ? { team: { type: 'Group', id: who.team } } : {}),
      base: false,
      tier: source.tier,
      source: from,
    },
    parents: [],
  };
}

/**
 * The base environments `who` may clone: declared with a database or a key prefix, and permitted
 * by the policies for a new environment of theirs (the TTL and quota limits are left out: they do
 * not depend on the base, and env:create reports them on their own).
 */
export function cloneableBases(
  gate: PolicyGate,
  base: Record<string, BaseEnvironmentConfig>,
  who: Cloner,
  now: number,
): string[] {
  return Object.entries(base)
    .filter(([, b]) => b.database || b.redisPrefix)
    .filter(
      ([from, b]) =>
        gate.decide(who.ref, {
          action: 'env:create',
          resource: cloneEntity('did-you-mean', from, b, who),
          context: { now, ttlSeconds: 0, ownedEnvironments: 0 },
        }).decision === 'allow',
    )
    .map(([from]) => from);
}

/**
 * ENV_SOURCE_INVALID for a --from that names no base with resources: "did you mean" proposes only
 * a base the caller may clone, and without a close match the hint says which bases exist and
 * which of them may be cloned.
 */
export function sourceInvalid(
  from: string,
  base: Record<string, BaseEnvironmentConfig>,
  cloneable: readonly string[],
): IdpError {
  const shown = from.slice(0, 80);
  const declared = Object.keys(base);
  const known = Object.entries(base)
    .filter(([, b]) => b.database || b.redisPrefix)
    .map(([n]) => n);
  const others = declared.filter((n) => !cloneable.includes(n));
  const match = closestMatch(from, cloneable);
  let hint: string;
  if (match) hint = `Did you mean --from=${match}?`;
  else if (cloneable.length)
    hint = `Clone one of: ${cloneable.join(', ')}${others.length ? ` (${others.join(', ')} cannot be cloned by you)` : ''}.`;
  else if (declared.length)
    hint = `The base environments are ${declared.join(', ')}, and none can be cloned by you; ask a platform admin.`;
  else hint = 'Declare base environments under environments.base in the config.';
  return new IdpError('ENV_SOURCE_INVALID', `--from: "${shown}" is not a base environment that can be cloned`, {
    field: 'from',
    known,
    cloneable: [...cloneable],
    ...(match ? { didYouMean: match } : {}),
    hint,
  });
}

/**
 * For `idp policy:check --action env:create --resource environment:NEW --context '{"from":…}'`:
 * the environment env:create would make, and the context it would decide with (the TTL and the
 * count of environments as given, or as env:create would take them). Undefined without a base.
 */
export async function wouldCreate(
  name: string,
  question: CheckQuestion,
  opts: {
    base: Record<string, BaseEnvironmentConfig>;
    defaultTtl: string;
    now: number;
    teamOf(ref: string): string | null;
    owned(ref: string): Promise<number>;
  },
): Promise<{ resource: CedarEntity; context: Record<string, unknown> } | undefined> {
  const { from, ttlSeconds, ownedEnvironments, ...rest } = question.context;
  if (typeof from !== 'string' || !Object.hasOwn(opts.base, from)) return undefined;
  const who = { ref: question.principalRef, team: opts.teamOf(question.principalRef) };
  return {
    resource: cloneEntity(name, from, opts.base[from]!, who),
    context: {
      ...rest,
      now: opts.now,
      ttlSeconds: typeof ttlSeconds === 'number' ? ttlSeconds : parseDuration(opts.defaultTtl, 'ttl'),
      ownedEnvironments:
        typeof ownedEnvironments === 'number' ? ownedEnvironments : await opts.owned(question.principalRef),
    },
  };
}
