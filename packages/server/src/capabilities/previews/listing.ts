import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import {
  IdpError,
  type Preview,
  type PreviewEvent,
  type PreviewService as PreviewServiceView,
  type PreviewStatus,
} from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import { previewRepository, type PreviewsConfig } from '../../config/previews.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { PreviewsTable } from '../../store/schema.ts';

/**
 * What `GET /api/previews` and `idp preview:*` read and do. A preview is seen, redeployed and
 * deleted by the team that owns it (previews.repositories.<repo>.team) and by admins: the
 * question asked of the policies is `env:read` on the preview's environment owned by that team.
 * Anyone else is told it does not exist (404), as for an environment. Redeploy and delete are
 * queued as deliveries (action `redeploy` / `closed`) and done by the same durable worker as
 * GitHub's events, in order with them; they are audited with the caller.
 */

type Row = Selectable<PreviewsTable>;

export interface OperatorDelivery {
  id: string;
  event: 'pull_request';
  action: 'redeploy' | 'closed';
  repo: string;
  number: number;
  payload: Record<string, unknown>;
}

export interface PreviewQueriesDeps {
  db: Kysely<Database>;
  gate: PolicyGate;
  audit: AuditLog;
  clock: Clock;
  config: () => PreviewsConfig;
  /** Stores the delivery (pending) and wakes the delivery worker. */
  queue: (d: OperatorDelivery) => Promise<void>;
}

export class PreviewQueries {
  constructor(private readonly deps: PreviewQueriesDeps) {}

  async list(ctx: RequestContext, repo?: string): Promise<Preview[]> {
    let q = this.deps.db.selectFrom('previews').selectAll();
    if (repo) q = q.where('repo', '=', repo);
    const rows = await q.orderBy('repo').orderBy('number', 'desc').limit(1000).execute();
    const out: Preview[] = [];
    for (const row of rows) if (this.visible(ctx, row)) out.push(await this.view(row, 10));
    return out;
  }

  async get(ctx: RequestContext, repo: string, number: number): Promise<Preview> {
    return this.view(await this.find(ctx, repo, number), 50);
  }

  async redeploy(ctx: RequestContext, repo: string, number: number): Promise<Preview> {
    const row = await this.find(ctx, repo, number);
    if (row.status === 'deleted' || row.status === 'deleting') {
      throw new IdpError('PREVIEW_NOT_FOUND', `the preview of ${repo}#${number} was torn down (${row.status})`, {
        hint: 'A new push or reopening the pull request makes it again.',
      });
    }
    return this.operate(ctx, row, 'redeploy');
  }

  async delete(ctx: RequestContext, repo: string, number: number): Promise<Preview> {
    const row = await this.find(ctx, repo, number);
    if (row.status === 'deleted') return this.view(row, 50);
    return this.operate(ctx, row, 'closed');
  }

  private async operate(ctx: RequestContext, row: Row, action: 'redeploy' | 'closed'): Promise<Preview> {
    const id = `idp-${action}-${randomUUID()}`;
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: action === 'redeploy' ? 'preview:redeploy' : 'preview:delete',
      target: `preview:${row.repo}#${row.number}`,
      decision: 'allow',
      policyIds: [],
      requestId: ctx.requestId,
      details: { env: row.env, delivery: id, headSha: row.head_sha },
    });
    await this.deps.queue({
      id,
      event: 'pull_request',
      action,
      repo: row.repo,
      number: row.number,
      payload: operatorPayload(row, action, ctx.principal.ref),
    });
    return this.view(row, 50);
  }

  /** The row when the caller may see it; PREVIEW_NOT_FOUND otherwise, the same answer as for none. */
  private async find(ctx: RequestContext, repo: string, number: number): Promise<Row> {
    const row = await this.deps.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repo)
      .where('number', '=', number)
      .executeTakeFirst();
    if (!row || !this.visible(ctx, row)) {
      throw new IdpError('PREVIEW_NOT_FOUND', `no preview for ${repo}#${number}`, {
        hint: 'Run `idp preview:list` for the previews of your teams.',
      });
    }
    return row;
  }

  private teamOf(repo: string): string | null {
    return previewRepository(this.deps.config(), repo)?.repo.team ?? null;
  }

  private visible(ctx: RequestContext, row: Row): boolean {
    const team = this.teamOf(row.repo);
    const attrs: Record<string, unknown> = { base: false, tier: 'development' };
    if (team) attrs.team = { type: 'Group', id: team };
    const decision = this.deps.gate.decide(ctx.principal.ref, {
      action: 'env:read',
      resource: { uid: { type: 'Environment', id: row.env }, attrs, parents: [] },
      context: { now: Math.floor(this.deps.clock.now().getTime() / 1000) },
    });
    return decision.decision === 'allow';
  }

  private async view(row: Row, events: number): Promise<Preview> {
    const deliveries = await this.deps.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'event', 'action', 'received_at', 'status', 'outcome'])
      .where('repo', '=', row.repo)
      .where('number', '=', row.number)
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(events)
      .execute();
    return previewView(
      row,
      this.teamOf(row.repo) ?? '',
      deliveries.map((d) => ({
        delivery: d.id,
        event: d.event,
        action: d.action,
        receivedAt: d.received_at,
        status: d.status as PreviewEvent['status'],
        outcome: d.outcome,
      })),
    );
  }
}

export function previewView(row: Row, team: string, events: PreviewEvent[]): Preview {
  let services: PreviewServiceView[] = [];
  try {
    const parsed = JSON.parse(row.services) as unknown;
    if (Array.isArray(parsed)) services = parsed as PreviewServiceView[];
  } catch {
    services = [];
  }
  return {
    repo: row.repo,
    number: row.number,
    env: row.env,
    status: row.status as PreviewStatus,
    headSha: row.head_sha,
    headRef: row.head_ref,
    headRepo: row.head_repo,
    fork: row.fork === 1,
    trusted: row.trusted === 1,
    title: row.title,
    author: row.author,
    team,
    services: services.map((s) => ({
      service: String(s.service),
      version: s.version ?? null,
      status: String(s.status),
      url: s.url ?? null,
      deploymentId: s.deploymentId ?? null,
    })),
    note: row.note,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    closedAt: row.closed_at,
    events,
  };
}

/** The latest state of the pull request as idp knows it, in the shape of a stored delivery's payload. */
function operatorPayload(row: Row, action: 'redeploy' | 'closed', by: string): Record<string, unknown> {
  const repo = (fullName: string) => ({ full_name: fullName, clone_url: null, fork: fullName !== row.repo });
  return {
    action,
    number: row.number,
    repository: { full_name: row.repo, clone_url: null, fork: false },
    sender: null,
    operator: by,
    label: null,
    before: null,
    after: null,
    installation: null,
    pull_request: {
      title: row.title,
      state: action === 'closed' ? 'closed' : 'open',
      draft: false,
      merged: false,
      html_url: null,
      updated_at: null,
      user: { login: row.author },
      labels: [],
      head: { sha: row.head_sha, ref: row.head_ref, repo: repo(row.head_repo) },
      base: { ref: '', repo: repo(row.repo) },
    },
  };
}
