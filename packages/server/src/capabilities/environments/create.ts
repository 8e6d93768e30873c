// Creating an environment: validated, decided by Cedar and recorded with its pending steps in one transaction, then provisioned in the background.
import { IdpError, type CreateEnvironmentRequest, type Environment } from '@idp/contracts';
import { formatDuration, parseDuration, shortRef } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { isUniqueViolation } from '../../store/index.ts';
import { newCredentials } from './credentials.ts';
import { enforce, nowSeconds, ownedCount, primaryTeam } from './decide.ts';
import type { EnvironmentParts } from './deps.ts';
import { assertInfra } from './infra.ts';
import { assertEnvName, deriveNames } from './names.ts';
import { cloneableBases, cloneEntity, sourceInvalid } from './sources.ts';
import type { EnvRow } from './types.ts';
import { environmentView } from './view.ts';

/** What only the platform itself asks for (the previews capability), never an API request. */
export interface InternalCreateOptions {
  /** The pull request this environment previews: owned by `team`, not counted in the creator's own quota. */
  preview?: { repo: string; number: number; team: string };
  /** With `secrets: placeholders`, per-name test values (KEY or service/KEY → value). */
  placeholders?: Record<string, string>;
}

export async function createEnvironment(
  parts: EnvironmentParts,
  ctx: RequestContext,
  req: CreateEnvironmentRequest,
  internal: InternalCreateOptions = {},
): Promise<Environment> {
  const { deps, credentials, workflow } = parts;
  const name = assertEnvName(req.name, 'name');
  const base = deps.settings.base;
  if (Object.hasOwn(base, name)) {
    throw new IdpError('ENV_NAME_RESERVED', `"${name}" is a base environment`, { field: 'name', name });
  }
  const from = typeof req.from === 'string' ? req.from : '';
  const source = Object.hasOwn(base, from) ? base[from]! : undefined;
  const principal = ctx.principal;
  const who = { ref: principal.ref, team: primaryTeam(deps, principal.ref) };
  if (!source || (!source.database && !source.redisPrefix)) {
    throw sourceInvalid(from, base, cloneableBases(deps.gate, base, who, nowSeconds(deps)));
  }
  const ttlText = req.ttl ?? deps.settings.defaultTtl;
  const ttlSeconds = parseDuration(ttlText, 'ttl');
  await assertInfra(deps.infra, from, source);
  const secretsMode = req.secrets ?? 'copy';
  const placeholders = secretsMode === 'placeholders' ? (internal.placeholders ?? {}) : {};
  const preview = internal.preview;

  const ownerEmail = principal.email ?? shortRef(principal.ref);
  const team = who.team;
  const resource = cloneEntity(name, from, source, who);
  const context = { now: nowSeconds(deps), ttlSeconds, ownedEnvironments: await ownedCount(deps, principal.ref) };
  const decision = await enforce(deps, ctx, 'env:create', resource, context, { from });

  const names = deriveNames(name, ownerEmail);
  const id = deps.ids.next('env');
  const now = deps.clock.now();
  const row: EnvRow = {
    id,
    name,
    kind: 'ephemeral',
    source_env: from,
    owner_ref: principal.ref,
    owner_email: ownerEmail,
    team: preview?.team ?? team,
    tier: source.tier,
    status: 'provisioning',
    ttl_seconds: ttlSeconds,
    created_at: now.toISOString(),
    ready_at: null,
    expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    deleted_at: null,
    notified_at: null,
    namespace: names.namespace,
    database_name: source.database ? names.database : null,
    redis_prefix: source.redisPrefix ? names.redisPrefix : null,
    redis_user: source.redisPrefix ? await credentials.redisUser(names.redisUser) : null,
    snapshot: null,
    secrets_note:
      secretsMode === 'placeholders'
        ? `the secret names of ${from} with placeholder values (none of its values)`
        : `copied from ${from} vault`,
    credentials: credentials.seal(id, newCredentials()),
    error_step: null,
    error_message: null,
    secrets_mode: secretsMode,
    secret_placeholders: Object.keys(placeholders).length ? JSON.stringify(placeholders) : null,
    preview_repo: preview?.repo ?? null,
    preview_number: preview?.number ?? null,
  };
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('environments').values(row).execute();
      await trx.insertInto('environment_steps').values(workflow.pendingCreateSteps(id)).execute();
      await deps.audit.append(
        {
          actor: principal.ref,
          action: 'env:create',
          target: `environment:${name}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: {
            from,
            ttl: formatDuration(ttlSeconds),
            namespace: names.namespace,
            secrets: secretsMode,
            ...(preview ? { preview: `${preview.repo}#${preview.number}` } : {}),
          },
        },
        trx,
      );
    });
  } catch (err) {
    if (!(err instanceof IdpError) && isUniqueViolation(err)) {
      throw new IdpError('ENV_EXISTS', `environment ${name} already exists`, { name, field: 'name' });
    }
    throw err;
  }
  parts.tiers.set(name, source.tier);
  workflow.schedule(id, 'create');
  return environmentView(row, await parts.store.stepsOf(id), deps.infra);
}
