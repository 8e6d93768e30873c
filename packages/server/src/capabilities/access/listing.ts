// Reading access requests: listing those one may see (one's own and those one may decide), one by id, and the stats over them.
import type { AccessListQuery, AccessRequest, AccessStats } from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { AccessDeps } from './deps.ts';
import { requestView, statusOf, type RequestRow as Row } from './requests.ts';
import { accessStats } from './stats.ts';
import { mayDecide, visibleRow } from './visibility.ts';

const LIST_SCAN_LIMIT = 5000;

export async function listRequests(
  deps: AccessDeps,
  ctx: RequestContext,
  q: AccessListQuery,
): Promise<AccessRequest[]> {
  const me = ctx.principal.ref;
  let query = deps.db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(LIST_SCAN_LIMIT);
  if (q.pending === 'true' || q.toReview === 'true') query = query.where('status', '=', 'pending');
  if (q.mine === 'true') query = query.where('requester', '=', me);
  const rows = await query.execute();
  const resolve = deps.resources.cached();
  const out: AccessRequest[] = [];
  for (const row of rows) {
    const view = requestView(row, deps.clock.now().toISOString(), deps.directory);
    if ((q.pending === 'true' || q.toReview === 'true') && view.status !== 'pending') continue;
    const decides = row.requester !== me && (await mayDecide(deps, me, row, resolve));
    if (q.toReview === 'true' && !decides) continue;
    if (row.requester !== me && !decides) continue;
    out.push(view);
    if (out.length >= (q.limit ?? 200)) break;
  }
  return out;
}

export async function getRequest(deps: AccessDeps, ctx: RequestContext, id: string): Promise<AccessRequest> {
  return requestView(await visibleRow(deps, ctx, id), deps.clock.now().toISOString(), deps.directory);
}

/** The figures over the requests one may see (all of them for an admin), optionally only those since a duration ago. */
export async function requestStats(deps: AccessDeps, ctx: RequestContext, since?: string): Promise<AccessStats> {
  const sinceIso = since
    ? new Date(deps.clock.now().getTime() - parseDuration(since, 'since') * 1000).toISOString()
    : null;
  let query = deps.db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(100_000);
  if (sinceIso) query = query.where('created_at', '>=', sinceIso);
  const rows = await query.execute();
  const resolve = deps.resources.cached();
  const visible: Row[] = [];
  const all = ctx.principal.roles.includes('admin');
  for (const row of rows) {
    if (all || row.requester === ctx.principal.ref || (await mayDecide(deps, ctx.principal.ref, row, resolve)))
      visible.push(row);
  }
  return accessStats(
    visible.map((r) => ({
      status: statusOf(r, deps.clock.now().toISOString()),
      autoApproved: r.auto_approved === 1 || Number(r.auto_approved) === 1,
      createdAt: r.created_at,
      decidedAt: r.decided_at,
    })),
    sinceIso,
  );
}
