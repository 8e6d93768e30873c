import type { Kysely } from 'kysely';
import { IdpError } from '@idp/contracts';
import type { CedarEntity, Decision } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import type { GateRequest, PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { GrantLookup } from '../secrets/service.ts';
import { serviceEntity, teamOf, type ServiceOwners } from './owners.ts';

type EnvRow = Database['environments'];

/** A service with no owning team in the catalog: only platform admins match it (no Group has this id). */
export const NO_TEAM = '-';

export interface DeployAuthzDeps {
  db: Kysely<Database>;
  gate: PolicyGate;
  clock: Clock;
  owners: ServiceOwners;
  grants: GrantLookup;
  /** The live environment of this name (the environments capability). */
  liveEnvironment(name: string): Promise<EnvRow | undefined>;
  /** The Cedar Environment entity of a row (owner, team, base, tier). */
  environmentEntity(row: EnvRow): CedarEntity;
  /** Whether the secrets of this environment are production ones (secrets.productionEnvironments too). */
  productionSecrets(env: string): boolean;
}

/**
 * Deploying is an action on two resources: the Service (its owning team deploys it; freezes and
 * production's canary rule) and the target Environment (its owner, or its team; base
 * environments the service's owning team; production behind an access grant for
 * `<env>/<service>/*`, like production secrets, because a replica there gets them). Both
 * decisions must allow; a denial is audited and says how to get access. Reading deployments
 * (`deploy:read`) is decided on the Environment with the service's owner in the context.
 */
export class DeployAuthorizer {
  constructor(private readonly deps: DeployAuthzDeps) {
    // `idp policy:check --resource service:payments-api` sees the Service as deploy:* does.
    deps.gate.registerResolver('Service', async (id) => {
      const team = await teamOf(deps.owners, id);
      return team ? { resource: serviceEntity(id, team) } : undefined;
    });
  }

  /** The owning team of a catalog Component, or DEPLOY_SERVICE_UNKNOWN. */
  async teamOf(service: string): Promise<string> {
    const team = await teamOf(this.deps.owners, service);
    if (!team)
      throw new IdpError('DEPLOY_SERVICE_UNKNOWN', `service ${service} is not a Component in the catalog`, {
        field: 'service',
        service,
      });
    return team;
  }

  /** The live environment deployed to, or ENV_NOT_FOUND. */
  async environment(env: string): Promise<EnvRow> {
    const row = await this.deps.liveEnvironment(env);
    if (!row)
      throw new IdpError('ENV_NOT_FOUND', `no environment named ${env.slice(0, 80)}`, { field: 'env', name: env });
    return row;
  }

  /**
   * Enforces `action` on the service (with `serviceContext`) and, when `env` is given, on the
   * environment. Returns the decisions; throws POLICY_DENIED (audited) otherwise.
   */
  async authorize(
    ctx: RequestContext,
    req: {
      action: string;
      service: string;
      team: string | null;
      env?: EnvRow;
      serviceContext?: Record<string, unknown>;
    },
  ): Promise<{ service: Decision; environment: Decision | null }> {
    const team = req.team ?? NO_TEAM;
    const now = this.nowSeconds();
    const service = await this.enforceService(ctx, {
      action: req.action,
      resource: serviceEntity(req.service, team),
      context: { now, ...req.serviceContext },
    });
    if (!req.env) return { service, environment: null };
    const environment = await this.enforceEnvironment(ctx, req.action, req.service, team, req.env);
    return { service, environment };
  }

  /** deploy:read of one deployment; POLICY_DENIED (audited) when the caller may not see it. */
  async enforceRead(ctx: RequestContext, row: { service: string; env: string }): Promise<void> {
    const [team, env] = await Promise.all([this.teamOrNone(row.service), this.environmentForRead(row.env)]);
    await this.deps.gate.enforce(ctx, {
      action: 'deploy:read',
      resource: env,
      context: this.envContext(row.service, team, false),
    });
  }

  /** A filter for lists: which of these deployments the caller may see (deploy:read), decided once per env/service. */
  async readable(principalRef: string): Promise<(row: { service: string; env: string }) => Promise<boolean>> {
    const cache = new Map<string, Promise<boolean>>();
    return (row) => {
      const key = `${row.env}/${row.service}`;
      let answer = cache.get(key);
      if (!answer) {
        answer = (async () => {
          const [team, env] = await Promise.all([this.teamOrNone(row.service), this.environmentForRead(row.env)]);
          return (
            this.deps.gate.decide(principalRef, {
              action: 'deploy:read',
              resource: env,
              context: this.envContext(row.service, team, false),
            }).decision === 'allow'
          );
        })();
        cache.set(key, answer);
      }
      return answer;
    };
  }

  /**
   * Whether deploy:read lets the caller read the services of each of `teams` in the environment
   * named `env` (live, deleted or unknown alike): the environments the query gate scopes
   * metrics to.
   */
  async mayReadTeamsIn(principalRef: string, teams: readonly string[], env: string): Promise<boolean> {
    const resource = await this.environmentForRead(env);
    return teams.every(
      (team) =>
        this.deps.gate.decide(principalRef, {
          action: 'deploy:read',
          resource,
          context: this.envContext('*', team, false),
        }).decision === 'allow',
    );
  }

  /**
   * The Service decision, like gate.enforce, but a denial by one of the deploy rules says what to
   * change to pass it (the deploy.yaml fields production needs, the freeze) rather than only
   * naming the policy.
   */
  private enforceService(ctx: RequestContext, req: GateRequest): Promise<Decision> {
    return this.deps.gate.enforce(ctx, req, {
      hint: (decision) => serviceDenialHint(decision.forbiddenBy, req.context ?? {}),
    });
  }

  private async enforceEnvironment(
    ctx: RequestContext,
    action: string,
    service: string,
    team: string,
    row: EnvRow,
  ): Promise<Decision> {
    const resource = this.entityOf(row);
    const grant = await this.deps.grants.grantFor(ctx.principal.ref, row.name, service, '*');
    const req = { action, resource, context: this.envContext(service, team, grant.active !== null) };
    const decision = this.deps.gate.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return decision;
    const grantWouldAllow =
      !grant.active &&
      this.deps.gate.decide(ctx.principal.ref, { ...req, context: this.envContext(service, team, true) }).decision ===
        'allow';
    const pattern = `${row.name}/${service}/*`;
    let hint: string;
    if (grantWouldAllow && action === 'deploy:undeploy') {
      hint = `Undeploying from ${row.name} needs the same access grant as deploying there: idp access:request --secret='${pattern}' --reason="…" --duration=1h (the owning team is approved at once), then undeploy again.`;
    } else if (grantWouldAllow) {
      hint = `Deploying to ${row.name} gives the release its production secrets, so it needs an access grant: idp access:request --secret='${pattern}' --reason="…" --duration=1h (the owning team is approved at once), then deploy again.`;
    } else if (row.kind === 'base') {
      hint = `Only the owning team of ${service} (${team}) and platform admins deploy to the base environment ${row.name}: ask one of them.`;
    } else {
      hint = `${row.name} belongs to ${row.owner_email ?? 'someone else'}${row.team ? ` (team ${row.team})` : ''}: deploy into an environment of your own (\`idp env:create --name=feature-${service} --from=${row.source_env ?? 'staging'}\`) or ask its owner.`;
    }
    const target = `environment:${row.name}`;
    return this.deps.gate.refuse(
      ctx,
      req,
      decision,
      new IdpError('POLICY_DENIED', `${action} of ${service} to ${target} denied: ${decision.reason}`, {
        action,
        resource: target,
        service,
        reason: decision.reason,
        forbiddenBy: decision.forbiddenBy,
        ...(grantWouldAllow ? { needsGrant: pattern } : {}),
        hint,
      }),
      { service, ...(grantWouldAllow ? { needsGrant: pattern } : {}) },
    );
  }

  /** The environment as the deploy policies see it: a production tier also when the secrets call it production. */
  private entityOf(row: EnvRow): CedarEntity {
    const entity = this.deps.environmentEntity(row);
    if (this.deps.productionSecrets(row.name)) entity.attrs = { ...entity.attrs, tier: 'production' };
    return entity;
  }

  private envContext(service: string, team: string, hasGrant: boolean): Record<string, unknown> {
    return { now: this.nowSeconds(), service, serviceOwner: { type: 'Group', id: team }, hasGrant };
  }

  private async teamOrNone(service: string): Promise<string> {
    return (await teamOf(this.deps.owners, service)) ?? NO_TEAM;
  }

  /** The live environment, else the latest deleted one of the name (old deployments stay readable to their owners). */
  private async environmentForRead(name: string): Promise<CedarEntity> {
    const row =
      (await this.deps.liveEnvironment(name)) ??
      (await this.deps.db
        .selectFrom('environments')
        .selectAll()
        .where('name', '=', name)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst());
    if (row) return this.entityOf(row);
    return { uid: { type: 'Environment', id: name }, attrs: { base: false, tier: 'development' }, parents: [] };
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now().getTime() / 1000);
  }
}

/**
 * What to change when one of policies/deployments.cedar's rules on the Service forbade a deploy:
 * the fields `production-needs-auto-canary` wants in deploy.yaml, or the freeze window to wait
 * out. Undefined for other policies (the generic policy:check hint applies).
 */
export function serviceDenialHint(
  forbiddenBy: readonly string[],
  context: Record<string, unknown>,
): string | undefined {
  if (forbiddenBy.includes('deployments/production-needs-auto-canary')) {
    const has: string[] = [];
    if (context.strategy !== 'canary') has.push(`strategy: ${String(context.strategy ?? 'rolling')}`);
    if (context.rollbackAuto !== true) has.push('rollback.auto: false');
    return (
      'Production only takes canaries that roll back by themselves: in .idp/deploy.yaml set `deploy.strategy: canary` ' +
      'with canary steps (e.g. `canary: [{weight: 10, pause: 5m}, {weight: 100}]`) and `deploy.rollback.auto: true`' +
      `${has.length ? ` (this release has ${has.join(' and ')})` : ''}, commit, and deploy again. ` +
      'Or ask the platform team to change the policy deployments/production-needs-auto-canary.'
    );
  }
  if (forbiddenBy.includes('deployments/freeze-windows')) {
    return 'A deploy freeze (deployments.freezes in the config) covers this environment now: deploy after it ends; `idp rollback` and `idp deploy:abort` still work during a freeze.';
  }
  return undefined;
}
