import type { Kysely } from 'kysely';
import { parseDuration } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { PeriodicTask } from '../../lifecycle/index.ts';
import type { WebhookNotifier } from '../access/notifier.ts';
import type { EnvironmentService } from './service.ts';

const REAPER = 'system:reaper';

/**
 * Deletes ephemeral environments whose TTL ran out, and warns each owner `notifyBefore` ahead
 * (once per expiry: extending resets it). Base environments have no expiry, so they are never
 * selected. A sweep never overlaps the previous one.
 */
export class Reaper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      audit: AuditLog;
      clock: Clock;
      notifier: WebhookNotifier;
      environments: EnvironmentService;
      log: (line: string) => void;
      reapInterval: string;
      notifyBefore: string;
    },
  ) {
    this.task = new PeriodicTask({
      name: 'environment reaper',
      everyMs: parseDuration(deps.reapInterval, 'environments.reapInterval') * 1000,
      run: () => this.pass(),
      log: deps.log,
    });
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** One pass, or the one in progress (tests call it directly with a fake clock); never rejects. */
  sweep(): Promise<void> {
    return this.task.runNow();
  }

  private async pass(): Promise<void> {
    const now = this.deps.clock.now();
    const nowIso = now.toISOString();
    const warnBy = new Date(
      now.getTime() + parseDuration(this.deps.notifyBefore, 'environments.notifyBefore') * 1000,
    ).toISOString();
    const { db } = this.deps;

    const expired = await db
      .selectFrom('environments')
      .selectAll()
      .where('kind', '=', 'ephemeral')
      .where('status', 'in', ['ready', 'failed', 'provisioning'])
      .where('expires_at', '<=', nowIso)
      .execute();
    for (const row of expired) {
      this.deps.log(`environments: ${row.name} expired at ${row.expires_at}; deleting`);
      await this.deps.environments.startDelete(row, REAPER, `reap:${row.id}`, {
        reason: `expired at ${row.expires_at}`,
      });
      this.deps.notifier.notify({
        text: `Environment ${row.name} (owner ${row.owner_email ?? row.owner_ref}) expired at ${row.expires_at} and is being deleted.`,
      });
    }

    const soon = await db
      .selectFrom('environments')
      .selectAll()
      .where('kind', '=', 'ephemeral')
      .where('status', '=', 'ready')
      .where('notified_at', 'is', null)
      .where('expires_at', '>', nowIso)
      .where('expires_at', '<=', warnBy)
      .execute();
    for (const row of soon) {
      await db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('environments')
          .set({ notified_at: nowIso })
          .where('id', '=', row.id)
          .where('notified_at', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows ?? 0) === 0) return;
        await this.deps.audit.append(
          {
            actor: REAPER,
            action: 'env:notify-expiry',
            target: `environment:${row.name}`,
            decision: 'allow',
            requestId: `notify:${row.id}`,
            details: { owner: row.owner_ref, expiresAt: row.expires_at },
          },
          trx,
        );
      });
      this.deps.notifier.notify({
        text: `Environment ${row.name} (owner ${row.owner_email ?? row.owner_ref}) expires at ${row.expires_at}. Keep it with: idp env:extend ${row.name} --ttl=3d`,
        blocks: [
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: `*${row.name}* expires at ${row.expires_at} (owner ${row.owner_email ?? row.owner_ref}).\nKeep it: \`idp env:extend ${row.name} --ttl=3d\``,
            },
          },
        ],
      });
    }
  }
}
