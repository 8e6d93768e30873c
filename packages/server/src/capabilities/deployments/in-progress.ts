// The one-rollout-at-a-time rule per service and environment, checked inside the caller's transaction.
import { IdpError } from '@idp/contracts';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/index.ts';
import { ACTIVE } from './view.ts';

/** Throws DEPLOY_IN_PROGRESS when a rollout of `service` in `env` has not ended; `then` is what to do after it. */
export async function assertNoRolloutRunning(
  trx: Kysely<Database>,
  env: string,
  service: string,
  then: string,
): Promise<void> {
  const active = await trx
    .selectFrom('deployments')
    .select('id')
    .where('env', '=', env)
    .where('service', '=', service)
    .where('status', 'in', ACTIVE)
    .executeTakeFirst();
  if (active)
    throw new IdpError('DEPLOY_IN_PROGRESS', `deployment ${active.id} of ${service} in ${env} is still running`, {
      id: active.id,
      hint: `Let it end or abort it (\`idp deploy:abort ${active.id}\`), then ${then}.`,
    });
}
