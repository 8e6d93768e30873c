// Who sees an access request and who may decide it: its requester, and whoever the policies let approve it.
import { IdpError } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { userUid } from '../../identity/index.ts';
import type { ResolvedSecret, SecretScope } from '../secrets/resources.ts';
import type { AccessDeps } from './deps.ts';
import { scopeOfRow, type RequestRow as Row } from './requests.ts';

/** Whether `me` may approve (or deny) the request, as the policies decide for its secret. */
export async function mayDecide(
  deps: Pick<AccessDeps, 'gate'>,
  me: string,
  row: Row,
  resolve: (s: SecretScope) => Promise<ResolvedSecret | null>,
): Promise<boolean> {
  const resolved = await resolve(scopeOfRow(row));
  if (!resolved) return false;
  return (
    deps.gate.decide(me, {
      action: 'access:approve',
      resource: resolved.entity,
      context: { requester: userUid(row.requester) },
    }).decision === 'allow'
  );
}

/** Requests are visible to their requester and to those who may decide them; others get "not found". */
export async function visibleRow(deps: AccessDeps, ctx: RequestContext, id: string): Promise<Row> {
  const row = await deps.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (
    row &&
    (row.requester === ctx.principal.ref || (await mayDecide(deps, ctx.principal.ref, row, deps.resources.cached())))
  )
    return row;
  throw new IdpError('ACCESS_REQUEST_NOT_FOUND', `no access request ${id}`, { field: 'id', id });
}
