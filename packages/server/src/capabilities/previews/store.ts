// The previews table: one row per pull request's preview, and the deliveries received for it.
import type { PreviewEvent, PreviewService, PreviewStatus } from '@idp/contracts';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../store/index.ts';
import type { PreviewsTable } from '../../store/schema.ts';

export type PreviewRow = Selectable<PreviewsTable>;

export class PreviewStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(repo: string, number: number): Promise<PreviewRow | undefined> {
    return this.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repo)
      .where('number', '=', number)
      .executeTakeFirst();
  }

  /** Inserts the row, or replaces every field of an existing one but its created_at and comment id. */
  async save(row: PreviewRow): Promise<void> {
    const rest: Partial<PreviewRow> = { ...row };
    for (const k of ['repo', 'number', 'created_at', 'comment_id'] as const) delete rest[k];
    await this.db
      .insertInto('previews')
      .values(row)
      .onConflict((oc) => oc.columns(['repo', 'number']).doUpdateSet(rest))
      .execute();
  }

  /**
   * Updates the life cycle's fields. The comment id is the reports' (set once GitHub made the
   * comment): a copy of the row read earlier must not put back a stale one.
   */
  async update(repo: string, number: number, patch: Partial<Omit<PreviewRow, 'repo' | 'number'>>): Promise<void> {
    const { comment_id: _reports, ...rest } = patch;
    await this.db
      .updateTable('previews')
      .set({ ...rest, updated_at: patch.updated_at ?? new Date().toISOString() })
      .where('repo', '=', repo)
      .where('number', '=', number)
      .execute();
  }

  /** Previews holding an environment now (for the reaper and the cap). */
  async listOpen(): Promise<PreviewRow[]> {
    return this.db
      .selectFrom('previews')
      .selectAll()
      .where('status', 'in', ['creating', 'deploying', 'ready', 'failed'])
      .orderBy('created_at')
      .execute();
  }

  async list(repo?: string): Promise<PreviewRow[]> {
    let q = this.db.selectFrom('previews').selectAll();
    if (repo) q = q.where('repo', '=', repo);
    return q.orderBy('repo').orderBy('number', 'desc').execute();
  }

  /**
   * Whether a delivery received after `id` for the same pull request waits that replaces what
   * `id` is rolling out (a push, a close, a redeploy, a draft).
   */
  async supersededBy(repo: string, number: number, id: string): Promise<string | null> {
    const current = await this.db
      .selectFrom('webhook_deliveries')
      .select('received_at')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!current) return null;
    const newer = await this.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'action'])
      .where('repo', '=', repo)
      .where('number', '=', number)
      .where('id', '!=', id)
      .where('status', 'in', ['pending', 'processing'])
      .where('received_at', '>', current.received_at)
      .where('action', 'in', ['synchronize', 'closed', 'redeploy', 'converted_to_draft'])
      .orderBy('received_at')
      .executeTakeFirst();
    return newer ? `${newer.action} (${newer.id})` : null;
  }

  /** The deliveries recorded for a pull request, newest first. */
  async events(repo: string, number: number, limit = 50): Promise<PreviewEvent[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'event', 'action', 'received_at', 'status', 'outcome'])
      .where('repo', '=', repo)
      .where('number', '=', number)
      .orderBy('received_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      delivery: r.id,
      event: r.event,
      action: r.action,
      receivedAt: r.received_at,
      status: r.status as PreviewEvent['status'],
      outcome: r.outcome,
    }));
  }
}

export function servicesOf(row: Pick<PreviewRow, 'services'>): PreviewService[] {
  try {
    const v: unknown = JSON.parse(row.services);
    return Array.isArray(v) ? (v as PreviewService[]) : [];
  } catch {
    return [];
  }
}

export function statusOf(row: Pick<PreviewRow, 'status'>): PreviewStatus {
  return row.status as PreviewStatus;
}
