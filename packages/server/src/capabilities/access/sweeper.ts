import type { Kysely } from 'kysely';
import { parseDuration } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { PeriodicTask } from '../../lifecycle/index.ts';

/** The actor of records the control plane writes on its own (expiry). */
export const SYSTEM_ACTOR = 'system:idp';

export interface SweeperDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  clock: Clock;
  /** How often to sweep, e.g. `1m` (access.sweepInterval). */
  interval: string;
  log: (line: string) => void;
}

/**
 * Marks grants past their end, and pending requests nobody decided in time, as expired, and
 * audits each (access:expire). Reads never depend on it: they compare times themselves.
 */
export class AccessSweeper {
  private task: PeriodicTask | null = null;
  private stopped = false;

  constructor(private readonly deps: SweeperDeps) {}

  /** Sweeps every interval (one sweep at a time) until `stop`. */
  start(): void {
    if (this.task || this.stopped) return;
    this.task = new PeriodicTask({
      name: 'access expiry sweep',
      everyMs: parseDuration(this.deps.interval, 'access.sweepInterval') * 1000,
      run: () => this.sweep(),
      log: this.deps.log,
    });
    this.task.start();
  }

  /** Ends the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.task?.stop();
  }

  /** One pass; returns how many requests it marked expired. */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now().toISOString();
    const ended = await this.deps.db
      .selectFrom('access_requests')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'approved'), eb('expires_at', '<=', now)]),
          eb.and([eb('status', '=', 'pending'), eb('pending_until', '<=', now)]),
        ]),
      )
      .orderBy('created_at')
      .limit(1000)
      .execute();
    let count = 0;
    for (const row of ended) {
      const wasPending = row.status === 'pending';
      const changed = await this.deps.db.transaction().execute(async (trx) => {
        // Only if nobody decided or revoked it meanwhile.
        const res = await trx
          .updateTable('access_requests')
          .set({ status: 'expired' })
          .where('id', '=', row.id)
          .where('status', '=', row.status)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return false;
        await this.deps.audit.append(
          {
            actor: SYSTEM_ACTOR,
            action: 'access:expire',
            target: `secret:${row.pattern}`,
            decision: 'allow',
            details: {
              id: row.id,
              requester: row.requester,
              was: row.status,
              endedAt: wasPending ? row.pending_until : row.expires_at,
              reason: row.reason,
            },
          },
          trx,
        );
        return true;
      });
      if (changed) count += 1;
    }
    return count;
  }
}
