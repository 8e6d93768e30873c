import { z } from 'zod';
import { sql, type Selectable } from 'kysely';
import type { Clock } from '../../clock.ts';
import { isUniqueViolation, type Store } from '../../store/index.ts';
import type { WebhookDeliveriesTable } from '../../store/schema.ts';
import type { DeliveryResult, WebhookDelivery } from './types.ts';

/**
 * GitHub deliveries as stored in webhook_deliveries: the id (X-GitHub-Delivery) is the key, so a
 * delivery is recorded once; only the fields the life cycle reads are kept (bounded), with the
 * SHA-256 of the signed body so a captured body sent again under a new delivery id is a replay too.
 */

const str = (max: number) => z.string().transform((s) => s.slice(0, max));
const login = z.object({ login: str(100) }).loose();
const repoRef = z
  .object({
    full_name: str(200),
    clone_url: str(500).optional(),
    fork: z.boolean().optional(),
  })
  .loose();

/** What a pull_request event must carry; anything else is WEBHOOK_PAYLOAD_INVALID. */
export const PullRequestPayload = z
  .object({
    action: str(50),
    number: z.number().int().min(1).max(2_147_483_647),
    repository: repoRef,
    sender: login.optional(),
    label: z
      .object({ name: str(100) })
      .loose()
      .optional(),
    before: str(64).optional(),
    after: str(64).optional(),
    installation: z.object({ id: z.number() }).loose().optional(),
    pull_request: z
      .object({
        title: str(300).default(''),
        state: str(20).optional(),
        draft: z.boolean().optional(),
        merged: z.boolean().nullable().optional(),
        html_url: str(500).optional(),
        updated_at: str(40).optional(),
        user: login.optional(),
        labels: z
          .array(z.object({ name: str(100) }).loose())
          .max(100)
          .default([]),
        head: z.object({ sha: str(64), ref: str(300), repo: repoRef.nullable().optional() }).loose(),
        base: z.object({ ref: str(300), repo: repoRef.optional() }).loose(),
      })
      .loose(),
  })
  .loose();

/** The fields kept from a pull_request body (the payload a DeliveryHandler sees). */
export function keptFields(p: z.infer<typeof PullRequestPayload>, bodySha256: string): Record<string, unknown> {
  const pr = p.pull_request;
  const repo = (r: z.infer<typeof repoRef> | null | undefined) =>
    r ? { full_name: r.full_name, clone_url: r.clone_url ?? null, fork: r.fork ?? false } : null;
  return {
    action: p.action,
    number: p.number,
    repository: repo(p.repository),
    sender: p.sender ? { login: p.sender.login } : null,
    label: p.label ? { name: p.label.name } : null,
    before: p.before ?? null,
    after: p.after ?? null,
    installation: p.installation ? { id: p.installation.id } : null,
    pull_request: {
      title: pr.title,
      state: pr.state ?? null,
      draft: pr.draft ?? false,
      merged: pr.merged ?? false,
      html_url: pr.html_url ?? null,
      updated_at: pr.updated_at ?? null,
      user: pr.user ? { login: pr.user.login } : null,
      labels: pr.labels.map((l) => ({ name: l.name })),
      head: { sha: pr.head.sha, ref: pr.head.ref, repo: repo(pr.head.repo) },
      base: { ref: pr.base.ref, repo: repo(pr.base.repo) },
    },
    bodySha256,
  };
}

export type DeliveryStatus = 'pending' | 'processing' | 'done' | 'ignored' | 'failed';

export interface NewDelivery {
  id: string;
  event: string;
  action: string | null;
  repo: string | null;
  number: number | null;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  outcome: string | null;
}

export interface StoredDelivery extends WebhookDelivery {
  status: DeliveryStatus;
  outcome: string | null;
  attempts: number;
  receivedAt: string;
  finishedAt: string | null;
}

/** Most attempts at one delivery (each restart mid-way is one) before it is recorded as failed. */
export const MAX_ATTEMPTS = 3;

export class Deliveries {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Records a delivery; false when its id was recorded before (a replay: nothing is done). */
  async insert(d: NewDelivery): Promise<boolean> {
    const now = this.clock.now().toISOString();
    const terminal = d.status !== 'pending' && d.status !== 'processing';
    try {
      await this.store.db
        .insertInto('webhook_deliveries')
        .values({
          id: d.id,
          event: d.event,
          action: d.action,
          repo: d.repo,
          number: d.number,
          payload: JSON.stringify(d.payload),
          status: d.status,
          outcome: d.outcome,
          attempts: 0,
          received_at: now,
          finished_at: terminal ? now : null,
        })
        .execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** The id of an earlier delivery of the same signed body for this pull request, if any. */
  async sameBody(repo: string, number: number, bodySha256: string): Promise<string | undefined> {
    const row = await this.store.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('repo', '=', repo)
      .where('number', '=', number)
      .where('payload', 'like', `%"bodySha256":"${bodySha256.replace(/[^0-9a-f]/g, '')}"%`)
      .executeTakeFirst();
    return row?.id;
  }

  /** Deliveries still to do (pending, or processing when the server stopped), oldest first. */
  async unfinished(limit = 500): Promise<StoredDelivery[]> {
    const rows = await this.store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('status', 'in', ['pending', 'processing'])
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toStored);
  }

  async get(id: string): Promise<StoredDelivery | undefined> {
    const row = await this.store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toStored(row);
  }

  /** Marks a delivery as being worked on; returns the attempt number. */
  async begin(id: string): Promise<number> {
    await this.store.db
      .updateTable('webhook_deliveries')
      .set({ status: 'processing', attempts: sql<number>`attempts + 1` })
      .where('id', '=', id)
      .execute();
    return (await this.get(id))?.attempts ?? 1;
  }

  async finish(
    id: string,
    result: DeliveryResult & { status: Exclude<DeliveryResult['status'], 'interrupted'> },
  ): Promise<void> {
    await this.store.db
      .updateTable('webhook_deliveries')
      .set({
        status: result.status,
        outcome: result.outcome.slice(0, 1000),
        finished_at: this.clock.now().toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }
}

function toStored(row: Selectable<WebhookDeliveriesTable>): StoredDelivery {
  let payload: Record<string, unknown> = {};
  try {
    payload = JSON.parse(row.payload) as Record<string, unknown>;
  } catch {
    // Written by us as JSON; an unreadable row is handed over with an empty payload.
  }
  return {
    id: row.id,
    event: row.event,
    action: row.action,
    repo: row.repo,
    number: row.number,
    payload,
    status: row.status as DeliveryStatus,
    outcome: row.outcome,
    attempts: row.attempts,
    receivedAt: row.received_at,
    finishedAt: row.finished_at,
  };
}
