import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import { PeriodicTask } from '../../lifecycle/index.ts';
import type { Database } from '../../store/index.ts';
import type { PreviewReportsTable } from '../../store/schema.ts';
import { commentBody, commitStatus, type CommentInput } from './comment.ts';
import { checkPrivateKey, GithubAppCredentials } from './github-auth.ts';
import { GithubApiError, GithubClient, type CommitStatus } from './github-client.ts';
import { resolveSecretRef, type PreviewsConfig } from '../../config/previews.ts';

/**
 * The outbox of what goes back to a pull request: commit statuses and the one comment. The life
 * cycle only inserts rows (`report`), so a GitHub outage never fails or slows a preview; this
 * worker sends them in order, retrying with exponential backoff, and gives up (status failed,
 * the reason kept) after `maxAttempts` or on an answer that trying again cannot fix. A row
 * superseded by a newer one of the same kind (the same commit, for a status) is not sent: the
 * pull request shows the latest state, not a replay of every step.
 */

export interface ReportRetry {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

/** How long sent and given-up reports stay in the outbox. */
const KEEP_SETTLED_MS = 7 * 24 * 3600_000;

export const DEFAULT_RETRY: ReportRetry = { baseMs: 1_000, maxMs: 5 * 60_000, maxAttempts: 10 };

export interface PreviewReportsDeps {
  db: Kysely<Database>;
  /** null: no credentials configured; rows are closed as failed with `notConfigured` and nothing is sent. */
  client: GithubClient | null;
  notConfigured?: string;
  clock: Clock;
  log: (line: string) => void;
  retry?: Partial<ReportRetry>;
  /** How often due rows are looked for when nothing new was queued. */
  pollMs?: number;
}

type StatusBody = CommitStatus;

let sequence = 0;
/** Ids sort in the order rows were queued by this process (ties on created_at are broken by id). */
function reportId(): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `rep_${Date.now().toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}
interface CommentPayload {
  markdown: string;
}

export class PreviewReports {
  private readonly task: PeriodicTask;
  private readonly retry: ReportRetry;

  constructor(private readonly deps: PreviewReportsDeps) {
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.task = new PeriodicTask({
      name: 'preview reports',
      everyMs: deps.pollMs ?? 500,
      run: () => this.sendDue(),
      log: deps.log,
      runAtStart: true,
    });
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** Sends what is due now (tests, or right after queueing); never rejects. */
  flush(): Promise<void> {
    return this.task.runNow();
  }

  /**
   * Queues the commit status for the preview's state (when it has one) and the comment, then
   * starts sending in the background. Never throws for GitHub's sake: only a store failure rejects.
   */
  async report(preview: CommentInput): Promise<void> {
    const status = commitStatus(preview);
    if (status) await this.enqueue(preview.repo, preview.number, 'status', preview.headSha, status);
    await this.enqueue(preview.repo, preview.number, 'comment', preview.headSha, {
      markdown: commentBody(preview),
    } satisfies CommentPayload);
    void this.flush();
  }

  /**
   * Reports a preview as its row stands now (the life cycle calls this after each change of
   * status). The time taken runs from the latest delivery acted on to the row's last update.
   * Never rejects: a failure to queue is logged, the preview goes on.
   */
  async notify(repo: string, number: number): Promise<void> {
    try {
      const { db } = this.deps;
      const row = await db
        .selectFrom('previews')
        .selectAll()
        .where('repo', '=', repo)
        .where('number', '=', number)
        .executeTakeFirst();
      if (!row) return;
      const latest = await db
        .selectFrom('webhook_deliveries')
        .select('received_at')
        .where('repo', '=', repo)
        .where('number', '=', number)
        .where('status', 'in', ['processing', 'done'])
        .orderBy('received_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      const settled = row.status === 'ready' || row.status === 'failed';
      let services: CommentInput['services'] = [];
      try {
        const parsed = JSON.parse(row.services) as unknown;
        if (Array.isArray(parsed)) services = parsed as CommentInput['services'];
      } catch {
        services = [];
      }
      await this.report({
        repo: row.repo,
        number: row.number,
        env: row.env,
        status: row.status as CommentInput['status'],
        headSha: row.head_sha,
        headRef: row.head_ref,
        fork: row.fork === 1,
        trusted: row.trusted === 1,
        services,
        note: row.note,
        startedAt: latest?.received_at ?? row.created_at,
        finishedAt: settled ? row.updated_at : null,
        expiresAt: row.expires_at,
        closedAt: row.closed_at,
        deletedAt: row.status === 'deleted' ? row.updated_at : null,
      });
    } catch (err) {
      this.deps.log(
        `previews: could not queue the report for ${repo}#${number}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  async enqueue(
    repo: string,
    number: number,
    kind: 'status' | 'comment',
    sha: string | null,
    body: StatusBody | CommentPayload,
  ): Promise<string> {
    const now = this.deps.clock.now().toISOString();
    const id = reportId();
    await this.deps.db
      .insertInto('preview_reports')
      .values({
        id,
        repo,
        number,
        kind,
        sha,
        body: JSON.stringify(body),
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        sent_at: null,
      })
      .execute();
    return id;
  }

  private async sendDue(): Promise<void> {
    const { db } = this.deps;
    const now = this.deps.clock.now().toISOString();
    // Settled rows are kept a week (to see what was sent and why one failed), then dropped.
    await db
      .deleteFrom('preview_reports')
      .where('status', 'in', ['sent', 'failed'])
      .where('next_attempt_at', '<', new Date(this.deps.clock.now().getTime() - KEEP_SETTLED_MS).toISOString())
      .execute();
    const due = await db
      .selectFrom('preview_reports')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('created_at')
      .orderBy('id')
      .limit(50)
      .execute();
    // A failure stops the rest of that pull request's rows of the same kind this pass, so they keep their order.
    const blocked = new Set<string>();
    for (const row of due) {
      const key = `${row.repo}#${row.number} ${row.kind}`;
      if (blocked.has(key)) continue;
      if (!(await this.sendOne(row))) blocked.add(key);
    }
  }

  /** true when the row is settled (sent, superseded or given up on). */
  private async sendOne(row: PreviewReportsTable): Promise<boolean> {
    const { db, client } = this.deps;
    if (await this.superseded(row)) {
      await this.settle(row.id, 'sent', 'superseded by a newer report');
      return true;
    }
    if (!client) {
      await this.settle(
        row.id,
        'failed',
        `not sent: ${this.deps.notConfigured ?? 'previews.github.token is not configured'}`,
      );
      return true;
    }
    try {
      if (row.kind === 'status') {
        await client.createStatus(row.repo, row.sha ?? '', JSON.parse(row.body) as StatusBody);
      } else {
        await this.sendComment(client, row);
      }
      await this.settle(row.id, 'sent', null);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const retryable = !(err instanceof GithubApiError) || err.retryable;
      const attempts = row.attempts + 1;
      if (!retryable || attempts >= this.retry.maxAttempts) {
        this.deps.log(`previews: ${row.kind} report for ${row.repo}#${row.number} given up: ${message}`);
        await db
          .updateTable('preview_reports')
          .set({ status: 'failed', attempts, last_error: message })
          .where('id', '=', row.id)
          .execute();
        return true;
      }
      const wait = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempts - 1));
      await db
        .updateTable('preview_reports')
        .set({
          attempts,
          last_error: message,
          next_attempt_at: new Date(this.deps.clock.now().getTime() + wait).toISOString(),
        })
        .where('id', '=', row.id)
        .execute();
      return false;
    }
  }

  /** The comment is updated in place; it is made (again) when there is none or it was deleted. */
  private async sendComment(client: GithubClient, row: PreviewReportsTable): Promise<void> {
    const { db } = this.deps;
    const { markdown } = JSON.parse(row.body) as CommentPayload;
    const preview = await db
      .selectFrom('previews')
      .select('comment_id')
      .where('repo', '=', row.repo)
      .where('number', '=', row.number)
      .executeTakeFirst();
    if (preview?.comment_id && (await client.updateComment(row.repo, preview.comment_id, markdown))) return;
    const id = await client.createComment(row.repo, row.number, markdown);
    await db
      .updateTable('previews')
      .set({ comment_id: id })
      .where('repo', '=', row.repo)
      .where('number', '=', row.number)
      .execute();
  }

  private async superseded(row: PreviewReportsTable): Promise<boolean> {
    let q = this.deps.db
      .selectFrom('preview_reports')
      .select('id')
      .where('repo', '=', row.repo)
      .where('number', '=', row.number)
      .where('kind', '=', row.kind)
      .where('status', '=', 'pending')
      .where((eb) =>
        eb.or([
          eb('created_at', '>', row.created_at),
          eb.and([eb('created_at', '=', row.created_at), eb('id', '>', row.id)]),
        ]),
      );
    if (row.kind === 'status') q = q.where('sha', '=', row.sha);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  private async settle(id: string, status: 'sent' | 'failed', note: string | null): Promise<void> {
    await this.deps.db
      .updateTable('preview_reports')
      .set({ status, last_error: note, sent_at: status === 'sent' ? this.deps.clock.now().toISOString() : null })
      .where('id', '=', id)
      .execute();
  }
}

/**
 * The reports worker from the config: a token, or a GitHub App's credentials; with neither (or
 * a reference that resolves to nothing, or a key that is not one), reports are closed as not sent
 * with the reason, which is also logged once.
 */
export function reportsFromConfig(deps: {
  db: Kysely<Database>;
  clock: Clock;
  log: (line: string) => void;
  github: PreviewsConfig['github'];
  env?: NodeJS.ProcessEnv;
}): PreviewReports {
  const { client, reason } = githubClientFromConfig(deps.github, deps.env);
  if (!client) deps.log(`previews: ${reason}; pull requests get no status or comment`);
  return new PreviewReports({ db: deps.db, client, notConfigured: reason, clock: deps.clock, log: deps.log });
}

function githubClientFromConfig(
  github: PreviewsConfig['github'],
  env: NodeJS.ProcessEnv = process.env,
): { client: GithubClient; reason?: undefined } | { client: null; reason: string } {
  const apiUrl = github.apiUrl;
  if (github.app) {
    const privateKey = resolveSecretRef(github.app.privateKey, env);
    if (!privateKey) return { client: null, reason: 'previews.github.app.privateKey resolves to nothing' };
    const problem = checkPrivateKey(privateKey);
    if (problem) return { client: null, reason: `previews.github.app.privateKey ${problem}` };
    const credentials = new GithubAppCredentials({
      apiUrl,
      appId: github.app.appId,
      privateKey,
      ...(github.app.installationId !== undefined ? { installationId: github.app.installationId } : {}),
    });
    return { client: new GithubClient({ apiUrl, credentials }) };
  }
  const token = resolveSecretRef(github.token, env);
  if (!token) return { client: null, reason: 'previews.github.token is not configured' };
  return { client: new GithubClient({ apiUrl, token }) };
}
