import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { insertEnv, provisioningEnv } from '../../../../../test/support/env-rows.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Store } from '../../store/index.ts';
import { ENVIRONMENT_STEPS, workflowSteps, type StepDefinition, type StepTools } from './steps.ts';
import { EnvironmentStore } from './store.ts';
import type { EnvRow } from './types.ts';
import { StepWorkflow, type WorkflowStep } from './workflow.ts';

// The step runner on a real SQLite state store, with a step table of the test's own: what ran,
// in which order and at which attempt is recorded, and a step fails or blocks on demand. What the
// real steps do to PostgreSQL and Redis is the e2e tests' (environments*.test.ts) to check.

const clock: Clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const NAMES = ['namespace', 'database', 'redis', 'secrets'];

describe('environment step workflow', () => {
  const tmp = tempSqliteStore('env-workflow');
  let store: Store;
  let audit: AuditLog;
  let n = 0;
  /** `<step>#<attempt>` for every run, in order, across workflows. */
  let ran: string[];
  /** Steps that throw when they run. */
  let failing: Set<string>;
  /** Steps that wait for this before they finish. */
  let blockers: Map<string, Promise<void>>;
  let deleted: string[];

  const step = (name: string): WorkflowStep => ({
    name,
    async run(row, attempt) {
      ran.push(`${name}#${attempt}`);
      await blockers.get(name);
      if (failing.has(name)) throw new IdpError('ENV_PROVIDER_UNAVAILABLE', `${name} is down`);
      return `${name} of ${row.name} made`;
    },
  });
  /** A workflow as one control-plane process has it: a new one is what a restart makes. */
  const workflow = () =>
    new StepWorkflow({
      db: store.db,
      audit,
      clock,
      store: new EnvironmentStore(store.db),
      log: () => {},
      steps: { create: NAMES.map(step), delete: NAMES.map((s) => step(`delete:${s}`)) },
      onDeleted: (row) => deleted.push(row.name),
    });
  /** An environment recorded as env:create records it (provisioning, its create steps pending). */
  const recordEnv = async (w: StepWorkflow): Promise<EnvRow> => {
    n += 1;
    const row = provisioningEnv(`feature-${n}`, clock.now(), { id: `env_${n}`, credentials: '{"sealed":true}' });
    return insertEnv(store.db, row, w);
  };
  /** An environment whose create steps all ran. */
  const readyEnv = async (w: StepWorkflow): Promise<EnvRow> => {
    const row = await recordEnv(w);
    w.schedule(row.id, 'create');
    await w.idle();
    return row;
  };
  const envOf = (id: string) =>
    store.db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const stepsOf = async (id: string) =>
    Object.fromEntries(
      (await new EnvironmentStore(store.db).stepsOf(id)).map((s) => [s.name, `${s.status}/${s.attempts}`]),
    );
  const auditOf = async (row: EnvRow) =>
    (await audit.list({ limit: 100 }))
      .filter((r) => r.target === `environment:${row.name}`)
      .map((r) => `${r.action}:${r.decision}`)
      .reverse();

  beforeAll(() => {
    store = tmp.store;
    audit = new AuditLog(store.db, clock, store.dialect);
  });
  beforeEach(() => {
    ran = [];
    failing = new Set();
    blockers = new Map();
    deleted = [];
  });

  it('runs the create steps in order, records each one done, then marks the environment ready', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    w.schedule(row.id, 'create');
    await w.idle();
    expect(ran).toEqual(['namespace#1', 'database#1', 'redis#1', 'secrets#1']);
    expect(await stepsOf(row.id)).toEqual({
      namespace: 'done/1',
      database: 'done/1',
      redis: 'done/1',
      secrets: 'done/1',
    });
    const env = await envOf(row.id);
    expect(env).toMatchObject({ status: 'ready', ready_at: clock.now().toISOString(), error_step: null });
    const steps = await new EnvironmentStore(store.db).stepsOf(row.id);
    expect(steps.map((s) => s.detail)).toEqual(NAMES.map((s) => `${s} of ${row.name} made`));
    expect(await auditOf(row)).toEqual(['env:ready:allow']);
  });

  it('after a crash mid-step, a restart resumes at that step (its second attempt) and never re-runs a done one', async () => {
    const before = workflow();
    const row = await recordEnv(before);
    // What a SIGKILL in the database step leaves: namespace done, database running.
    await store.db
      .updateTable('environment_steps')
      .set({ status: 'done', attempts: 1 })
      .where('env_id', '=', row.id)
      .where('name', '=', 'namespace')
      .execute();
    await store.db
      .updateTable('environment_steps')
      .set({ status: 'running', attempts: 1 })
      .where('env_id', '=', row.id)
      .where('name', '=', 'database')
      .execute();

    const after = workflow();
    expect(await after.resume()).toBe(1);
    await after.idle();
    expect(ran).toEqual(['database#2', 'redis#1', 'secrets#1']);
    expect(await stepsOf(row.id)).toEqual({
      namespace: 'done/1',
      database: 'done/2',
      redis: 'done/1',
      secrets: 'done/1',
    });
    expect((await envOf(row.id)).status).toBe('ready');
    // Resuming again finds nothing to do.
    expect(await workflow().resume()).toBe(0);
  });

  it('after a crash mid-deletion, a restart finishes the delete steps left and marks it deleted', async () => {
    const w = workflow();
    const row = await readyEnv(w);
    failing.add('delete:database');
    await w.startDelete(await envOf(row.id), 'user:default/alice', 'req-1');
    await w.idle();
    // Make it look like the process died during delete:database rather than failing it.
    await store.db
      .updateTable('environments')
      .set({ status: 'deleting', error_step: null, error_message: null })
      .where('id', '=', row.id)
      .execute();
    await store.db
      .updateTable('environment_steps')
      .set({ status: 'running', error: null })
      .where('env_id', '=', row.id)
      .where('name', '=', 'delete:database')
      .execute();
    failing.clear();
    ran = [];

    const after = workflow();
    expect(await after.resume()).toBe(1);
    await after.idle();
    expect(ran).toEqual(['delete:database#2', 'delete:redis#1', 'delete:secrets#1']);
    expect(await envOf(row.id)).toMatchObject({
      status: 'deleted',
      deleted_at: clock.now().toISOString(),
      credentials: null,
    });
    expect(deleted).toEqual([row.name]);
  });

  it('a failed step stops the run: the environment is failed, naming the step and the error; deleting it runs every undo step', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    failing.add('redis');
    w.schedule(row.id, 'create');
    await w.idle();
    expect(ran).toEqual(['namespace#1', 'database#1', 'redis#1']);
    expect(await envOf(row.id)).toMatchObject({
      status: 'failed',
      error_step: 'redis',
      error_message: 'ENV_PROVIDER_UNAVAILABLE: redis is down',
      ready_at: null,
    });
    expect(await stepsOf(row.id)).toEqual({
      namespace: 'done/1',
      database: 'done/1',
      redis: 'failed/1',
      secrets: 'pending/0',
    });
    const failed = await new EnvironmentStore(store.db).stepsOf(row.id);
    expect(failed.find((s) => s.name === 'redis')!.error).toBe('ENV_PROVIDER_UNAVAILABLE: redis is down');
    expect(await auditOf(row)).toEqual(['env:provision:error']);
    // A failed environment is not resumed by a restart: it stays failed until deleted.
    expect(await workflow().resume()).toBe(0);

    ran = [];
    await w.startDelete(await envOf(row.id), 'user:default/alice', 'req-2', { policyIds: ['env-owner'] });
    await w.idle();
    expect(ran).toEqual(['delete:namespace#1', 'delete:database#1', 'delete:redis#1', 'delete:secrets#1']);
    expect(await envOf(row.id)).toMatchObject({
      status: 'deleted',
      error_step: null,
      error_message: null,
      credentials: null,
    });
    expect(await auditOf(row)).toEqual(['env:provision:error', 'env:delete:allow', 'env:deleted:allow']);
    expect(deleted).toEqual([row.name]);
  });

  it('a failed delete step is retried by the next delete; the delete steps already done are not run again', async () => {
    const w = workflow();
    const row = await readyEnv(w);
    failing.add('delete:redis');
    await w.startDelete(await envOf(row.id), 'system:reaper', 'reap-1', { reason: 'expired' });
    await w.idle();
    expect(await envOf(row.id)).toMatchObject({ status: 'failed', error_step: 'delete:redis' });
    expect(await auditOf(row)).toEqual(['env:ready:allow', 'env:delete:allow', 'env:delete:error']);
    expect(deleted).toEqual([]);

    failing.clear();
    ran = [];
    await w.startDelete(await envOf(row.id), 'user:default/alice', 'req-3');
    await w.idle();
    expect(ran).toEqual(['delete:redis#2', 'delete:secrets#1']);
    expect((await envOf(row.id)).status).toBe('deleted');
  });

  it('a delete while provisioning stops the create steps between two steps, then undoes what was made', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    let release!: () => void;
    blockers.set(
      'database',
      new Promise((r) => {
        release = r;
      }),
    );
    w.schedule(row.id, 'create');
    await expect.poll(() => ran).toEqual(['namespace#1', 'database#1']);
    const deleting = w.startDelete(await envOf(row.id), 'user:default/alice', 'req-4');
    await expect.poll(async () => (await envOf(row.id)).status).toBe('deleting');
    release();
    await deleting;
    await w.idle();
    // database finished (a step is never cut in half); redis and secrets never ran.
    expect(ran).toEqual([
      'namespace#1',
      'database#1',
      'delete:namespace#1',
      'delete:database#1',
      'delete:redis#1',
      'delete:secrets#1',
    ]);
    expect(await stepsOf(row.id)).toMatchObject({ redis: 'pending/0', secrets: 'pending/0' });
    expect((await envOf(row.id)).status).toBe('deleted');
    expect(await auditOf(row)).toEqual(['env:delete:allow', 'env:deleted:allow']);
  });

  it('after stop, nothing more is scheduled', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    await w.stop();
    w.schedule(row.id, 'create');
    await w.idle();
    expect(ran).toEqual([]);
    expect((await envOf(row.id)).status).toBe('provisioning');
    await store.db.updateTable('environments').set({ status: 'deleted' }).where('id', '=', row.id).execute();
  });
});

describe('environment step table', () => {
  it('keeps the stored step names and order: create namespace, database, redis, secrets; delete each, in the same order', () => {
    expect(ENVIRONMENT_STEPS.map((s) => s.name)).toEqual(NAMES);
    const bound = workflowSteps({ settings: { base: {} } } as unknown as StepTools);
    expect(bound.create.map((s) => s.name)).toEqual(NAMES);
    expect(bound.delete.map((s) => s.name)).toEqual(NAMES.map((s) => `delete:${s}`));
  });

  it('binds each step to its tools and hands it the environment, the attempt and the base it clones', async () => {
    const seen: string[] = [];
    const table: StepDefinition[] = [
      {
        name: 'probe',
        run: async (_t, x) => {
          seen.push(`run ${x.row.name} #${x.attempt} from ${x.source?.tier}`);
          return 'made';
        },
        undo: async (_t, x) => {
          seen.push(`undo ${x.row.name} #${x.attempt} from ${x.source?.tier ?? 'none'}`);
          return 'gone';
        },
      },
    ];
    const tools = {
      settings: { base: { staging: { tier: 'staging', database: 'payments' } } },
    } as unknown as StepTools;
    const bound = workflowSteps(tools, table);
    const row = { name: 'feature-x', source_env: 'staging' } as EnvRow;
    expect(await bound.create[0]!.run(row, 2)).toBe('made');
    expect(await bound.delete[0]!.run({ ...row, source_env: null }, 1)).toBe('gone');
    expect(bound.delete[0]!.name).toBe('delete:probe');
    expect(seen).toEqual(['run feature-x #2 from staging', 'undo feature-x #1 from none']);
  });
});
