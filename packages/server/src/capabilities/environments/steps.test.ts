import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { insertEnv, provisioningEnv } from '../../../../../test/support/env-rows.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { policyGate, secretsServices, testDirectory } from '../../../../../test/support/unit-server.ts';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { AccessService } from '../access/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import { tierLookup } from '../secrets/paths.ts';
import { SecretResources } from '../secrets/resources.ts';
import type { SecretsService } from '../secrets/service.ts';
import { EnvironmentCredentials } from './credentials.ts';
import { ENVIRONMENT_STEPS, workflowSteps, type StepTools } from './steps.ts';
import { EnvironmentStore } from './store.ts';
import type { EnvRow, EnvironmentSettings } from './types.ts';
import { StepWorkflow } from './workflow.ts';

// The real step table run by the real workflow on SQLite, with the effects that need no
// PostgreSQL or Redis: the namespace folder (and the hooks of what runs in it), and the secrets
// copied from the base environment and purged again. The base environments here have no database
// or Redis keyspace (the e2e tests clone those); one names a Redis keyspace with no Redis
// configured, to see a step fail. workflow.test.ts covers the runner with steps of its own.

const clock: Clock = { now: () => new Date('2030-01-01T00:00:00.000Z') };
const ACTOR = 'system:test';

describe('the environment steps, run by the workflow on the real SQLite store', () => {
  const tmp = tempSqliteStore('env-steps');
  let nsRoot: string;
  let audit: AuditLog;
  let secrets: SecretsService;
  let access: AccessService;
  let store: EnvironmentStore;
  let tools: StepTools;
  /** What the namespace hooks saw, in order. */
  let hooked: string[];
  let n = 0;

  const settings: EnvironmentSettings = {
    defaultTtl: '1d',
    reapInterval: '1m',
    notifyBefore: '1h',
    snapshotRefresh: '1m',
    base: {
      staging: { tier: 'staging' },
      cache: { tier: 'staging', redisPrefix: 'cache:' },
    },
    baseDir: '/nonexistent',
    dataDir: '/nonexistent',
  };

  /** A workflow as one control-plane process has it; a new one is what a restart makes. */
  const workflow = () =>
    new StepWorkflow({
      db: tmp.store.db,
      audit,
      clock,
      store,
      log: () => {},
      steps: workflowSteps(tools, ENVIRONMENT_STEPS),
    });

  /** An environment as env:create records it: provisioning, its create steps pending. */
  const recordEnv = async (w: StepWorkflow, from = 'staging', fields: Partial<EnvRow> = {}): Promise<EnvRow> => {
    n += 1;
    const name = `feature-${n}`;
    const row = provisioningEnv(name, clock.now(), {
      id: `env_${n}`,
      source_env: from,
      database_name: null,
      redis_prefix: settings.base[from]!.redisPrefix ? `redis-${name}:` : null,
      secrets_note: 'copied from staging',
      ...fields,
    });
    return insertEnv(tmp.store.db, row, w);
  };
  const run = async (w: StepWorkflow, row: EnvRow, kind: 'create' | 'delete') => {
    if (kind === 'delete') await w.startDelete((await store.byId(row.id))!, 'user:default/alice', `req-${++n}`);
    else w.schedule(row.id, kind);
    await w.idle();
  };
  const stepsOf = async (id: string) =>
    (await store.stepsOf(id)).map((s) => ({
      name: s.name,
      status: s.status,
      attempts: Number(s.attempts),
      detail: s.detail,
      error: s.error,
    }));
  const nsDir = (row: EnvRow) => join(nsRoot, row.namespace);
  const markRunning = (row: EnvRow, name: string) =>
    tmp.store.db
      .updateTable('environment_steps')
      .set({ status: 'running', attempts: 1 })
      .where('env_id', '=', row.id)
      .where('name', '=', name)
      .execute();

  beforeAll(async () => {
    nsRoot = join(tmp.dataDir, 'namespaces');
    mkdirSync(nsRoot);
    const db = tmp.store.db;
    const directory = testDirectory('platform');
    const { gate, ...wired } = policyGate(tmp.store, directory, clock);
    audit = wired.audit;
    const resources = new SecretResources({ ownerOf: async () => 'group:default/payments' }, tierLookup([]));
    let cipher: SecretCipher;
    ({ access, secrets, cipher } = secretsServices({
      store: tmp.store,
      dataDir: tmp.dataDir,
      audit,
      gate,
      directory,
      clock,
      ids: { next: (p: string) => `${p}_${++n}` },
      resources,
    }));
    store = new EnvironmentStore(db);
    const infra = { postgres: null, redis: null, postgresSource: 'postgres.adminUrl', redisSource: 'redis.url' };
    tools = {
      db,
      clock,
      infra,
      settings,
      hooks: [
        {
          onCreate: async (ns) => {
            hooked.push(`create ${ns} ${existsSync(join(nsRoot, ns)) ? 'after' : 'before'} the folder`);
          },
          onDelete: async (ns) => {
            hooked.push(`delete ${ns} ${existsSync(join(nsRoot, ns)) ? 'before' : 'after'} the folder goes`);
          },
        },
      ],
      snapshots: null,
      secrets,
      access,
      credentials: new EnvironmentCredentials({ db, clock, cipher, infra }),
      namespaceDir: (ns) => join(nsRoot, ns),
    };
    await secrets.setAsSystem(ACTOR, 'staging/payments-api/DB_PASSWORD', 'pw');
    await secrets.setAsSystem(ACTOR, 'staging/orders/API_KEY', 'key');
  });
  afterAll(async () => {
    await access?.stop();
  });
  beforeEach(() => {
    hooked = [];
  });

  it('provisions in order: the namespace folder (then its hooks), database and Redis as the base has them, then the secrets', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    await run(w, row, 'create');
    expect(await stepsOf(row.id)).toEqual([
      {
        name: 'namespace',
        status: 'done',
        attempts: 1,
        detail: `namespace ${row.namespace} (${nsDir(row)})`,
        error: null,
      },
      { name: 'database', status: 'done', attempts: 1, detail: 'none: the source has no database', error: null },
      { name: 'redis', status: 'done', attempts: 1, detail: 'none: the source has no Redis keyspace', error: null },
      { name: 'secrets', status: 'done', attempts: 1, detail: '2 secrets (2 copied now) from staging', error: null },
    ]);
    expect((await store.byId(row.id))!.status).toBe('ready');
    expect(statSync(nsDir(row)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(nsDir(row), 'namespace.json'), 'utf8'))).toEqual({
      namespace: row.namespace,
      env: row.name,
      owner: 'user:default/alice',
    });
    expect(hooked).toEqual([`create ${row.namespace} after the folder`]);
    expect(await secrets.valuesFor(row.name, 'payments-api')).toEqual({ DB_PASSWORD: 'pw' });
    expect(await secrets.valuesFor(row.name, 'orders')).toEqual({ API_KEY: 'key' });
  });

  it('deletes in the same order: the hooks stop what runs before the folder goes, then the secrets are purged', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    await run(w, row, 'create');
    hooked = [];
    await run(w, row, 'delete');
    expect((await stepsOf(row.id)).filter((s) => s.name.startsWith('delete:'))).toEqual([
      {
        name: 'delete:namespace',
        status: 'done',
        attempts: 1,
        detail: `namespace ${row.namespace} removed`,
        error: null,
      },
      { name: 'delete:database', status: 'done', attempts: 1, detail: 'no database', error: null },
      { name: 'delete:redis', status: 'done', attempts: 1, detail: 'no Redis keyspace', error: null },
      {
        name: 'delete:secrets',
        status: 'done',
        attempts: 1,
        detail: '2 secrets deleted; 0 access grants/requests revoked',
        error: null,
      },
    ]);
    expect(hooked).toEqual([`delete ${row.namespace} before the folder goes`]);
    expect(existsSync(nsDir(row))).toBe(false);
    expect(await secrets.countEnvironment(row.name)).toBe(0);
    expect(await secrets.countEnvironment('staging')).toBe(2);
    expect((await store.byId(row.id))!.status).toBe('deleted');
  });

  it('a crash mid-namespace (folder made, file not written) is resumed at attempt 2 and converges', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    mkdirSync(nsDir(row), { mode: 0o700 });
    await markRunning(row, 'namespace');

    const after = workflow();
    expect(await after.resume()).toBe(1);
    await after.idle();
    expect((await stepsOf(row.id)).map((s) => `${s.name}:${s.status}/${s.attempts}`)).toEqual([
      'namespace:done/2',
      'database:done/1',
      'redis:done/1',
      'secrets:done/1',
    ]);
    expect(existsSync(join(nsDir(row), 'namespace.json'))).toBe(true);
    expect((await store.byId(row.id))!.status).toBe('ready');
  });

  it('a crash mid-secrets (some copied) converges on one copy of each, never two', async () => {
    const w = workflow();
    const row = await recordEnv(w);
    await run(w, row, 'create');
    // Make it what a crash in the secrets step leaves: one of the two secrets written, the step running.
    await tmp.store.db.updateTable('environments').set({ status: 'provisioning' }).where('id', '=', row.id).execute();
    await secrets.purgeEnvironment(row.name, ACTOR, 'req-x');
    await secrets.setAsSystem(ACTOR, `${row.name}/orders/API_KEY`, 'key');
    await markRunning(row, 'secrets');

    const after = workflow();
    expect(await after.resume()).toBe(1);
    await after.idle();
    const secretsStep = (await stepsOf(row.id)).find((s) => s.name === 'secrets')!;
    expect(secretsStep).toMatchObject({ status: 'done', attempts: 2, detail: '2 secrets (1 copied now) from staging' });
    expect(await secrets.countEnvironment(row.name)).toBe(2);
  });

  it('secrets: placeholders gives every name of the base a placeholder value (or the configured test value), never the base value', async () => {
    const w = workflow();
    const placeholders = { secrets_mode: 'placeholders', secret_placeholders: JSON.stringify({ API_KEY: 'test-key' }) };
    const row = await recordEnv(w, 'staging', placeholders);
    await run(w, row, 'create');
    const step = (await stepsOf(row.id)).find((s) => s.name === 'secrets')!;
    expect(step).toMatchObject({
      status: 'done',
      detail: '2 secrets (2 made now) named as in staging, with placeholder values',
    });
    expect(await secrets.valuesFor(row.name, 'payments-api')).toEqual({ DB_PASSWORD: 'placeholder' });
    expect(await secrets.valuesFor(row.name, 'orders')).toEqual({ API_KEY: 'test-key' });
    const [record] = await audit.list({ limit: 1, action: 'secret:placeholders' });
    expect(record).toMatchObject({ target: `secret:${row.name}/*/*`, details: { from: 'staging', placeholders: 2 } });

    // A restart mid-step (one name made, the step running) converges on one of each, still placeholders.
    const again = await recordEnv(w, 'staging', placeholders);
    await secrets.setAsSystem(ACTOR, `${again.name}/orders/API_KEY`, 'test-key');
    await markRunning(again, 'secrets');
    await tmp.store.db
      .updateTable('environment_steps')
      .set({ status: 'done' })
      .where('env_id', '=', again.id)
      .where('name', 'in', ['namespace', 'database', 'redis'])
      .execute();
    const after = workflow();
    expect(await after.resume()).toBe(1);
    await after.idle();
    expect((await stepsOf(again.id)).find((s) => s.name === 'secrets')).toMatchObject({
      status: 'done',
      attempts: 2,
      detail: '2 secrets (1 made now) named as in staging, with placeholder values',
    });
    expect(await secrets.valuesFor(again.name, 'payments-api')).toEqual({ DB_PASSWORD: 'placeholder' });
  });

  it('a step that fails stops the run: the environment is failed with the step and why, and no later step runs', async () => {
    const w = workflow();
    const row = await recordEnv(w, 'cache');
    await run(w, row, 'create');
    const env = (await store.byId(row.id))!;
    expect(env).toMatchObject({ status: 'failed', error_step: 'redis' });
    expect(env.error_message).toMatch(/^ENV_PROVIDER_UNAVAILABLE: .*no Redis is configured: set redis\.url/);
    expect((await stepsOf(row.id)).map((s) => `${s.name}:${s.status}`)).toEqual([
      'namespace:done',
      'database:done',
      'redis:failed',
      'secrets:pending',
    ]);
    expect(await secrets.countEnvironment(row.name)).toBe(0);
    const [record] = await audit.list({ limit: 1 });
    expect(record).toMatchObject({
      action: 'env:provision',
      decision: 'error',
      target: `environment:${row.name}`,
      details: { step: 'redis', error: env.error_message },
    });
  });
});
