// idp:env:create: an environment made as the user (their policy, quota and audit), waited for
// until ready. The name is checkpointed once created, so a retry or a restart reuses it.
import type { CreateEnvironmentRequest, Environment } from '@idp/contracts';
import { IdpError } from '@idp/contracts';
import type { RequestContext } from '../../../auth/context.ts';
import { deriveNames } from '../../environments/index.ts';
import type { ActionContext, TemplateAction } from '../types.ts';
import { pollUntil } from './wait.ts';

/** EnvironmentService fits. */
export interface EnvironmentsApi {
  create(ctx: RequestContext, req: CreateEnvironmentRequest): Promise<Environment>;
  get(ctx: RequestContext, name: string): Promise<Environment>;
}

export interface WaitLimits {
  timeoutMs: number;
  pollMs: number;
}

async function envCreate(ctx: ActionContext, envs: EnvironmentsApi | undefined, wait: WaitLimits): Promise<void> {
  const name = String(ctx.input.name);
  const from = String(ctx.input.from ?? 'staging');
  const ttl = ctx.input.ttl === undefined ? undefined : String(ctx.input.ttl);
  if (ctx.dryRun) {
    ctx.log(`idp:env:create (dry run): would create the environment ${name} from ${from}${ttl ? ` for ${ttl}` : ''}`);
    ctx.output('name', name);
    // The namespace the environment would get: named after it and its owner, as environments do.
    const owner = ctx.user.principal.email ?? ctx.user.principal.name;
    ctx.output('namespace', deriveNames(name, owner).namespace);
    return;
  }
  if (!envs)
    throw new IdpError('TEMPLATE_ACTION_NOT_CONFIGURED', 'idp:env:create: environments are not available to tasks', {
      needs: 'the environments service',
    });
  const created = ctx.checkpoint.get<string>('environment');
  let env: Environment;
  if (created === name) {
    env = await envs.get(ctx.user.ctx, name);
    ctx.log(`idp:env:create: ${name} was created by this step before (${env.status}); reusing it`);
  } else {
    // Marked before the request: a crash between the create and the checkpoint is recognised on
    // retry (the environment exists, is the user's and was made after the mark), not taken for another's.
    const pending = ctx.checkpoint.get<{ name: string; at: string }>('pending');
    const mark = pending?.name === name ? pending : { name, at: new Date().toISOString() };
    await ctx.checkpoint.set('pending', mark);
    try {
      env = await envs.create(ctx.user.ctx, { name, from, ...(ttl ? { ttl } : {}) });
      ctx.log(`idp:env:create: creating ${name} from ${from}`);
    } catch (err) {
      const mine =
        err instanceof IdpError && err.code === 'ENV_EXISTS'
          ? await envs.get(ctx.user.ctx, name).then(
              (e) => (e.ownerRef === ctx.user.ref && Date.parse(e.createdAt) >= Date.parse(mark.at) ? e : null),
              () => null,
            )
          : null;
      if (!mine) throw err;
      env = mine;
      ctx.log(`idp:env:create: ${name} was created by an earlier attempt of this step; reusing it`);
    }
    await ctx.checkpoint.set('environment', name);
  }
  env = await pollUntil(
    () => envs.get(ctx.user.ctx, name),
    (e) => e.status !== 'provisioning',
    (e) =>
      `${name}: ${e.status}${e.steps.length ? ` (${e.steps.map((s) => `${s.name} ${s.status}`).join(', ')})` : ''}`,
    (line) => ctx.log(line),
    { ...wait, signal: ctx.signal, what: `the environment ${name}` },
  );
  if (env.status !== 'ready')
    throw new IdpError(
      'TEMPLATE_ACTION_FAILED',
      `idp:env:create: the environment ${name} is ${env.status}${env.error ? `: ${env.error.step}: ${env.error.message}` : ''}`,
      { name, status: env.status },
    );
  ctx.output('name', env.name);
  ctx.output('namespace', env.resources.namespace);
}

export function envCreateAction(envs: EnvironmentsApi | undefined, wait: WaitLimits): TemplateAction {
  return {
    id: 'idp:env:create',
    description: 'Creates an environment (a clone of a base environment) as the user and waits until it is ready.',
    inputSchema: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 40 },
        from: { type: 'string', default: 'staging' },
        ttl: { type: 'string' },
      },
    },
    handler: (ctx) => envCreate(ctx, envs, wait),
  };
}
