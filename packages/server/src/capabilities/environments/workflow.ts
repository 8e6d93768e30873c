import type { Kysely } from 'kysely';
import { IdpError } from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { pendingStep, type EnvironmentStore } from './store.ts';
import { SYSTEM, type EnvRow, type StepRow } from './types.ts';

/** One step as the workflow runs it: `run` gets the environment as it is now and the attempt (1, 2, …). */
export interface WorkflowStep {
  readonly name: string;
  run(row: EnvRow, attempt: number): Promise<string>;
}

export interface WorkflowSteps {
  create: readonly WorkflowStep[];
  delete: readonly WorkflowStep[];
}

export interface StepWorkflowDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  clock: Clock;
  store: EnvironmentStore;
  steps: WorkflowSteps;
  log: (line: string) => void;
  /** After an environment's delete steps all ran and it is marked deleted. */
  onDeleted?(row: EnvRow): void;
}

/** Delete steps are numbered after the create steps, so an environment's steps list in the order they ran. */
const DELETE_POSITION = 100;

/**
 * Runs an environment's steps in the background, one job per environment, each step recorded in
 * environment_steps as it starts and ends. A step that fails stops the job and marks the
 * environment failed (its error and an audit record say which step); deleting it then runs the
 * delete steps, which undo whatever was made. A restart resumes every environment that was
 * provisioning or deleting from its first step not done; each step is idempotent, so re-running
 * a half-done one converges.
 */
export class StepWorkflow {
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private stopped = false;

  constructor(private readonly deps: StepWorkflowDeps) {}

  /** The create steps' rows, pending: recorded with the environment, in its transaction. */
  pendingCreateSteps(envId: string): StepRow[] {
    return this.deps.steps.create.map((step, position) => pendingStep(envId, position, step.name));
  }

  /** Resumes what a previous process left provisioning or deleting. */
  async resume(): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('environments')
      .select(['id', 'name', 'status'])
      .where('status', 'in', ['provisioning', 'deleting'])
      .execute();
    for (const r of rows) {
      this.deps.log(`environments: resuming ${r.status === 'deleting' ? 'deletion' : 'provisioning'} of ${r.name}`);
      this.schedule(r.id, r.status === 'deleting' ? 'delete' : 'create');
    }
    return rows.length;
  }

  /** Waits for every running job (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.allSettled([...this.jobs.values()]);
  }

  /** Stops every job between two steps, and schedules nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of this.jobs.keys()) this.cancelled.add(id);
    await this.idle();
  }

  /** Marks an environment for deletion and runs the delete steps (after any provisioning job stops). */
  async startDelete(
    row: EnvRow,
    actor: string,
    requestId: string,
    extra: { policyIds?: string[]; reason?: string } = {},
  ): Promise<void> {
    if (row.status === 'deleting' && this.jobs.has(row.id)) return;
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('environments')
        .set({ status: 'deleting', error_step: null, error_message: null })
        .where('id', '=', row.id)
        .execute();
      const existing = new Set(
        (await trx.selectFrom('environment_steps').select('name').where('env_id', '=', row.id).execute()).map(
          (s) => s.name,
        ),
      );
      for (const [i, { name }] of this.deps.steps.delete.entries()) {
        if (existing.has(name)) {
          await trx
            .updateTable('environment_steps')
            .set({ status: 'pending', error: null })
            .where('env_id', '=', row.id)
            .where('name', '=', name)
            .where('status', '<>', 'done')
            .execute();
        } else {
          await trx
            .insertInto('environment_steps')
            .values(pendingStep(row.id, DELETE_POSITION + i, name))
            .execute();
        }
      }
      await this.deps.audit.append(
        {
          actor,
          action: 'env:delete',
          target: `environment:${row.name}`,
          decision: 'allow',
          policyIds: extra.policyIds ?? [],
          requestId,
          details: { previousStatus: row.status, ...(extra.reason ? { reason: extra.reason } : {}) },
        },
        trx,
      );
    });
    const running = this.jobs.get(row.id);
    if (running) {
      // Provisioning stops between steps; the delete steps then undo whatever it made.
      this.cancelled.add(row.id);
      await running.catch(() => {});
    }
    this.schedule(row.id, 'delete');
  }

  /** Queues the environment's create or delete job after any job it already has. */
  schedule(id: string, kind: 'create' | 'delete'): void {
    if (this.stopped) return;
    const prev = this.jobs.get(id) ?? Promise.resolve();
    const job = prev
      .catch(() => {})
      .then(async () => {
        this.cancelled.delete(id);
        await (kind === 'create' ? this.provision(id) : this.teardown(id));
      })
      .catch((err: Error) => this.deps.log(`environments: ${kind} job for ${id} stopped: ${err.message}`))
      .finally(() => {
        if (this.jobs.get(id) === job) this.jobs.delete(id);
      });
    this.jobs.set(id, job);
  }

  private async provision(id: string): Promise<void> {
    const row = await this.deps.store.byId(id);
    if (!row || row.status !== 'provisioning') return;
    const ok = await this.runSteps(row, this.deps.steps.create);
    if (!ok) return;
    const fresh = (await this.deps.store.byId(id))!;
    if (fresh.status !== 'provisioning') return;
    const readyAt = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('environments')
        .set({ status: 'ready', ready_at: readyAt })
        .where('id', '=', id)
        .where('status', '=', 'provisioning')
        .execute();
      await this.deps.audit.append(
        {
          actor: SYSTEM,
          action: 'env:ready',
          target: `environment:${row.name}`,
          decision: 'allow',
          requestId: id,
          details: { owner: row.owner_ref, provisioningMs: Date.parse(readyAt) - Date.parse(row.created_at) },
        },
        trx,
      );
    });
  }

  private async teardown(id: string): Promise<void> {
    const row = await this.deps.store.byId(id);
    if (!row || row.status !== 'deleting') return;
    const ok = await this.runSteps(row, this.deps.steps.delete);
    if (!ok) return;
    const deletedAt = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('environments')
        .set({ status: 'deleted', deleted_at: deletedAt, credentials: null })
        .where('id', '=', id)
        .execute();
      await this.deps.audit.append(
        {
          actor: SYSTEM,
          action: 'env:deleted',
          target: `environment:${row.name}`,
          decision: 'allow',
          requestId: id,
          details: { owner: row.owner_ref },
        },
        trx,
      );
    });
    this.deps.onDeleted?.(row);
  }

  /** Runs the steps not yet done, in order; false when one failed or the job was cancelled. */
  private async runSteps(row: EnvRow, phase: readonly WorkflowStep[]): Promise<boolean> {
    const steps = await this.deps.store.stepsOf(row.id);
    for (const def of phase) {
      const name = def.name;
      const step = steps.find((s) => s.name === name);
      if (!step || step.status === 'done') continue;
      if (this.cancelled.has(row.id)) return false;
      const started = performance.now();
      const startedAt = this.deps.clock.now().toISOString();
      const attempts = Number(step.attempts) + 1;
      await this.deps.db
        .updateTable('environment_steps')
        .set({ status: 'running', started_at: startedAt, finished_at: null, duration_ms: null, attempts, error: null })
        .where('env_id', '=', row.id)
        .where('name', '=', name)
        .execute();
      try {
        const current = (await this.deps.store.byId(row.id))!;
        const detail = await def.run(current, attempts);
        await this.deps.db
          .updateTable('environment_steps')
          .set({
            status: 'done',
            finished_at: this.deps.clock.now().toISOString(),
            duration_ms: Math.round(performance.now() - started),
            detail,
          })
          .where('env_id', '=', row.id)
          .where('name', '=', name)
          .execute();
      } catch (err) {
        const message = err instanceof IdpError ? `${err.code}: ${err.message}` : (err as Error).message || String(err);
        await this.deps.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('environment_steps')
            .set({
              status: 'failed',
              finished_at: this.deps.clock.now().toISOString(),
              duration_ms: Math.round(performance.now() - started),
              error: message,
            })
            .where('env_id', '=', row.id)
            .where('name', '=', name)
            .execute();
          await trx
            .updateTable('environments')
            .set({ status: 'failed', error_step: name, error_message: message })
            .where('id', '=', row.id)
            .execute();
          await this.deps.audit.append(
            {
              actor: SYSTEM,
              action: name.startsWith('delete:') ? 'env:delete' : 'env:provision',
              target: `environment:${row.name}`,
              decision: 'error',
              requestId: row.id,
              details: { step: name, error: message },
            },
            trx,
          );
        });
        this.deps.log(`environments: ${row.name}: step ${name} failed: ${message}`);
        return false;
      }
    }
    return true;
  }
}
