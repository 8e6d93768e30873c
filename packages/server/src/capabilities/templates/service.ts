import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  CreateTaskRequest,
  DryRunResult,
  Task,
  TaskLogEntry,
  TaskStatus,
  TemplateDetail,
  TemplateSummary,
} from '@idp/contracts';
import type { Transaction } from 'kysely';
import { IdpError } from '@idp/contracts';
import type { Database } from '../../store/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Principal } from '@idp/contracts';
import { PeriodicTask } from '../../lifecycle/index.ts';
import { TaskStore, newTaskRows, type TaskRow } from './store.ts';
import type { TemplatesDeps } from './task-deps.ts';
import { dryRun } from './task-dry-run.ts';
import { followTask } from './task-follow.ts';
import { TaskJobs } from './task-jobs.ts';
import { runContext, taskEntity, templateEntity } from './task-policy.ts';
import { sealSecrets, secretNames, splitSecrets } from './task-secrets.ts';
import { logView, taskView } from './task-view.ts';
import { removeWorkspace, workspaceOf } from './task-workspace.ts';
import { TemplateCatalog, summaryOf, type RunnableTemplate } from './templates-catalog.ts';

export type { TemplatesDeps } from './task-deps.ts';

/** How long a cancel waits for the running action to stop before answering. */
const CANCEL_WAIT_MS = 5000;

/**
 * Golden paths: Template entities read from the catalog, run as durable tasks. A run is decided by
 * Cedar (template:run on the Template) before anything happens, its values validated against the
 * template's parameters (every problem in one error), then recorded with its steps, pending, in
 * one transaction with its audit entry; the steps run in the background (task-jobs.ts, runner.ts).
 * A caller sees their own tasks, and others' only when task:read allows; anyone else's is
 * TASK_NOT_FOUND.
 */
export class TemplateService {
  readonly store: TaskStore;
  readonly catalog: TemplateCatalog;
  readonly jobs: TaskJobs;
  private sweeper: PeriodicTask | null = null;
  /** Dry runs in progress (their scratch workspaces' names). */
  private readonly dryRuns = new Set<string>();

  constructor(private readonly deps: TemplatesDeps & { principalFor: (userRef: string) => Principal }) {
    this.store = new TaskStore(deps.db);
    this.catalog = new TemplateCatalog(deps.db);
    this.jobs = new TaskJobs({
      store: this.store,
      audit: deps.audit,
      clock: deps.clock,
      cipher: deps.cipher,
      catalog: this.catalog,
      principalFor: deps.principalFor,
      renderer: deps.renderer,
      actions: deps.actions,
      workspaces: deps.settings.workspaces,
      log: deps.log,
    });
    // For `idp policy:check`: the Template as template:run sees it, with the context it is given.
    deps.gate.registerResolver('Template', async (id, question) => {
      try {
        const resource = templateEntity(await this.catalog.get(id));
        if (!question) return { resource };
        return { resource, context: { teamMember: deps.directory.teamsOf(question.principalRef).length > 0 } };
      } catch {
        return undefined;
      }
    });
    deps.gate.registerResolver('Task', async (id) => {
      const row = await this.store.get(id);
      return row ? { resource: taskEntity(row) } : undefined;
    });
  }

  // ---------------------------------------------------------------- templates

  async list(_ctx: RequestContext): Promise<TemplateSummary[]> {
    return (await this.catalog.list()).map(summaryOf);
  }

  async get(_ctx: RequestContext, name: string): Promise<TemplateDetail> {
    const t = await this.catalog.get(name);
    const { schema, parameters } = this.deps.parameters.describe(t.pages);
    return {
      ...summaryOf(t),
      parameters,
      pages: t.pages,
      schema,
      steps: t.steps.map((s) => ({ id: s.id, name: s.name, action: s.action })),
    };
  }

  // ---------------------------------------------------------------- tasks

  async create(ctx: RequestContext, name: string, req: CreateTaskRequest): Promise<Task | DryRunResult> {
    const template = await this.catalog.get(name);
    const decision = await this.deps.gate.enforce(ctx, {
      action: 'template:run',
      resource: templateEntity(template),
      context: runContext(ctx.principal),
    });
    const values = this.deps.parameters.validate(template.pages, req.values ?? {});
    for (const step of template.steps) this.deps.actions.get(step.action, step.id);
    const { plain, secret } = splitSecrets(values, secretNames(template.pages));
    if (req.dryRun) return this.dryRun(ctx, template, plain, secret, decision.permittedBy);

    const id = this.deps.ids.next('task');
    const now = this.deps.clock.now().toISOString();
    const { row, steps } = newTaskRows({
      id,
      template,
      entity: await this.entityJson(template),
      createdBy: ctx.principal.ref,
      plain,
      sealed: sealSecrets(this.deps.cipher, id, secret),
      secretKeys: Object.keys(secret),
      workspace: workspaceOf(this.deps.settings.workspaces, id),
      now,
    });
    await this.deps.db.transaction().execute(async (trx) => {
      await this.store.insert(row, steps, trx);
      await this.auditTask(
        ctx,
        'task:create',
        id,
        { template: template.ref, values: Object.keys(values).sort(), secret: Object.keys(secret).sort() },
        trx,
        decision.permittedBy,
      );
    });
    this.jobs.schedule(id);
    return taskView(row, steps);
  }

  /** The template's entity as stored with the task: a retry or a restart runs the same steps. */
  private async entityJson(template: RunnableTemplate): Promise<unknown> {
    const row = await this.deps.db
      .selectFrom('catalog_entities')
      .select('entity')
      .where('ref', '=', template.ref)
      .executeTakeFirst();
    return row ? JSON.parse(row.entity) : {};
  }

  private async dryRun(
    ctx: RequestContext,
    template: RunnableTemplate,
    plain: Record<string, unknown>,
    secret: Record<string, unknown>,
    policyIds: string[],
  ): Promise<DryRunResult> {
    const id = this.deps.ids.next('dryrun');
    this.dryRuns.add(id);
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: 'task:dry-run',
      target: `template:${template.ref.replace(/^template:/, '')}`,
      decision: 'allow',
      policyIds,
      requestId: ctx.requestId,
      details: { template: template.ref },
    });
    try {
      return await dryRun(
        {
          renderer: this.deps.renderer,
          actions: this.deps.actions,
          clock: this.deps.clock,
          workspaces: this.deps.settings.workspaces,
          limits: { maxFiles: this.deps.settings.maxFiles, maxBytes: this.deps.settings.maxBytes },
        },
        {
          id,
          template,
          values: plain,
          secret,
          ctx,
          principal: ctx.principal,
          userEntity: await this.catalog.userEntity(ctx.principal.ref),
        },
      );
    } finally {
      this.dryRuns.delete(id);
    }
  }

  private canRead(ctx: RequestContext, row: TaskRow): boolean {
    if (row.created_by === ctx.principal.ref) return true;
    return (
      this.deps.gate.decide(ctx.principal.ref, { action: 'task:read', resource: taskEntity(row) }).decision === 'allow'
    );
  }

  /** The task if the caller may read it; TASK_NOT_FOUND otherwise, whether or not it exists. */
  private async visible(ctx: RequestContext, id: string): Promise<TaskRow> {
    const row = await this.store.get(id);
    if (!row || !this.canRead(ctx, row)) throw new IdpError('TASK_NOT_FOUND', `no task ${id}`, { task: id });
    return row;
  }

  /** Retry and cancel: the user who started it, or a platform admin. */
  private async manageable(ctx: RequestContext, id: string, action: string): Promise<TaskRow> {
    const row = await this.visible(ctx, id);
    if (row.created_by !== ctx.principal.ref && !ctx.principal.roles.includes('admin'))
      throw new IdpError(
        'POLICY_DENIED',
        `${action} on task:${id} denied: only who started it or a platform admin may`,
        {
          action,
          resource: `task:${id}`,
          hint: 'Ask the user who started the task.',
        },
      );
    return row;
  }

  async listTasks(
    ctx: RequestContext,
    q: { createdBy?: 'me' | 'all'; status?: TaskStatus; limit?: number },
  ): Promise<Task[]> {
    const limit = Math.min(q.limit ?? 100, 500);
    const all = q.createdBy === 'all';
    const rows = await this.store.list({
      ...(all ? {} : { createdBy: ctx.principal.ref }),
      ...(q.status ? { status: q.status } : {}),
      limit: all ? 2000 : limit,
    });
    const readable = rows.filter((r) => this.canRead(ctx, r)).slice(0, limit);
    const steps = await this.store.stepsOf(readable.map((r) => r.id));
    return readable.map((r) => taskView(r, steps.get(r.id) ?? []));
  }

  async getTask(ctx: RequestContext, id: string): Promise<Task> {
    const row = await this.visible(ctx, id);
    return taskView(row, await this.store.steps(id));
  }

  async logs(ctx: RequestContext, id: string, after: number, limit = 1000): Promise<TaskLogEntry[]> {
    await this.visible(ctx, id);
    return (await this.store.logs(id, after, Math.min(limit, 5000))).map(logView);
  }

  /**
   * Follows a task's log: the lines after `after`, then each new one, then `end` with the task once
   * it is no longer open or processing. Returns the function that stops following.
   */
  async follow(
    ctx: RequestContext,
    id: string,
    after: number,
    send: (entry: TaskLogEntry) => void,
    end: (task: Task) => void,
  ): Promise<() => void> {
    await this.visible(ctx, id);
    return followTask(this.store, this.jobs, id, after, send, end);
  }

  /** Records an allowed action on task `id` in the audit log, inside the transaction that makes it. */
  private async auditTask(
    ctx: RequestContext,
    action: string,
    id: string,
    details: Record<string, unknown>,
    trx: Transaction<Database>,
    policyIds?: string[],
  ): Promise<void> {
    await this.deps.audit.append(
      {
        actor: ctx.principal.ref,
        action,
        target: `task:${id}`,
        decision: 'allow',
        ...(policyIds ? { policyIds } : {}),
        requestId: ctx.requestId,
        details,
      },
      trx,
    );
  }

  /** Refuses a retry or a cancel of a task not in one of the `allowed` states. */
  private requireStatus(row: TaskRow, id: string, allowed: string[], only: string): void {
    if (!allowed.includes(row.status))
      throw new IdpError('TASK_NOT_RETRYABLE', `task ${id} is ${row.status}: only ${only}`, {
        task: id,
        status: row.status,
      });
  }

  async retry(ctx: RequestContext, id: string): Promise<Task> {
    const row = await this.manageable(ctx, id, 'task:retry');
    this.requireStatus(row, id, ['failed', 'cancelled'], 'a failed or cancelled task can be retried');
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('tasks')
        .set({ status: 'open', error: null, finished_at: null, cancel_requested: 0, workspace_removed_at: null })
        .where('id', '=', id)
        .execute();
      await trx
        .updateTable('task_steps')
        .set({ status: 'pending', error: null })
        .where('task_id', '=', id)
        .where('status', 'not in', ['completed', 'skipped'])
        .execute();
      await this.auditTask(ctx, 'task:retry', id, { template: row.template_ref, previous: row.status }, trx);
    });
    this.jobs.schedule(id);
    return this.getTask(ctx, id);
  }

  async cancel(ctx: RequestContext, id: string): Promise<Task> {
    const row = await this.manageable(ctx, id, 'task:cancel');
    this.requireStatus(row, id, ['open', 'processing'], 'an open or running task can be cancelled');
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('tasks').set({ cancel_requested: 1 }).where('id', '=', id).execute();
      await this.auditTask(ctx, 'task:cancel', id, { template: row.template_ref }, trx);
    });
    if (this.jobs.running(id)) {
      const ended = new Promise<void>((resolve) => {
        const off = this.jobs.onEnd(id, () => {
          off();
          resolve();
        });
        setTimeout(() => {
          off();
          resolve();
        }, CANCEL_WAIT_MS).unref();
      });
      this.jobs.cancel(id);
      await ended;
    } else {
      // Waiting for its turn, or left open by a stop: nothing runs, it is marked at once.
      this.jobs.cancel(id);
      await this.jobs.cancelIdle(id);
    }
    return this.getTask(ctx, id);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resumes unfinished tasks and starts the sweep of old workspaces. */
  async start(opts: { timer?: boolean } = {}): Promise<number> {
    const resumed = await this.jobs.resume();
    if (opts.timer ?? true) {
      this.sweeper = new PeriodicTask({
        name: 'task workspace sweep',
        everyMs: 3_600_000,
        run: () => this.sweepWorkspaces(),
        log: this.deps.log,
        runAtStart: true,
      });
      this.sweeper.start();
    }
    return resumed;
  }

  /** Removes the workspaces of tasks finished longer than templates.workspaceTtl ago. */
  async sweepWorkspaces(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.deps.settings.workspaceTtlSeconds * 1000);
    const rows = await this.store.staleWorkspaces(before.toISOString());
    for (const r of rows) await this.jobs.removeWorkspace(r);
    // Dry runs remove their scratch workspace as they end; one a stopped process left is removed here.
    const root = this.deps.settings.workspaces;
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const name of entries.filter((e) => e.startsWith('dryrun_') && !this.dryRuns.has(e)))
      await removeWorkspace(root, join(root, name)).catch(() => {});
    return rows.length;
  }

  idle(): Promise<void> {
    return this.jobs.idle();
  }

  async stop(): Promise<void> {
    await this.sweeper?.stop();
    await this.jobs.stop();
  }
}
