// A request's state changes: the guard that it is still pending, and the compare-and-set update with its audit record.
import type { Transaction } from 'kysely';
import { IdpError, type AccessStatus } from '@idp/contracts';
import type { Database } from '../../store/index.ts';
import type { AccessDeps } from './deps.ts';
import { statusOf, type RequestRow as Row } from './requests.ts';

/** Refuses to decide a request that is no longer pending (as of `now`), saying what became of it. */
export function assertPending(row: Row, verb: 'approve' | 'deny', now: string): void {
  const status = statusOf(row, now);
  if (status === 'pending') return;
  if (status === 'expired') {
    const when =
      row.status === 'pending' || !row.expires_at
        ? `the request expired at ${row.pending_until} before anyone decided`
        : `its grant already ended at ${row.expires_at}`;
    throw new IdpError('ACCESS_REQUEST_EXPIRED', `cannot ${verb} access request ${row.id}: ${when}`, {
      id: row.id,
      status,
    });
  }
  const by = status === 'revoked' ? row.revoked_by : row.decided_by;
  throw new IdpError(
    'ACCESS_ALREADY_DECIDED',
    `cannot ${verb} access request ${row.id}: it was already ${status}${by ? ` by ${by}` : ''}${row.decided_at && status !== 'revoked' ? ` at ${row.decided_at}` : ''}`,
    {
      id: row.id,
      status,
      hint:
        status === 'approved'
          ? `To end the grant early: idp access:revoke ${row.id}`
          : 'Run `idp access:list` to see its state.',
    },
  );
}

/** Applies a state change only if nobody changed the row meanwhile, with its audit record in the same transaction. */
export async function transition(
  deps: Pick<AccessDeps, 'db' | 'clock'>,
  row: Row,
  from: AccessStatus,
  changes: Partial<Row>,
  audit: (trx: Transaction<Database>, next: Row) => Promise<unknown>,
): Promise<Row> {
  const next = { ...row, ...changes } as Row;
  const ok = await deps.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('access_requests')
      .set(changes)
      .where('id', '=', row.id)
      .where('status', '=', from)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await audit(trx, next);
    return true;
  });
  if (!ok) {
    const fresh = await deps.db
      .selectFrom('access_requests')
      .selectAll()
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    const status = statusOf(fresh, deps.clock.now().toISOString());
    throw new IdpError(
      'ACCESS_ALREADY_DECIDED',
      `access request ${row.id} was ${status} by ${fresh.revoked_by ?? fresh.decided_by ?? 'the control plane'} at the same moment`,
      { id: row.id, status },
    );
  }
  return next;
}
