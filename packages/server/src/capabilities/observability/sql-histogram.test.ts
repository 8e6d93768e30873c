import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  UnknownRow,
} from 'kysely';
import { Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEnv, provisioningEnv } from '../../../../../test/support/env-rows.ts';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import { openStore, type Store } from '../../store/index.ts';
import { ControlPlaneMetrics } from './metrics-registry.ts';
import { ReconcilerLag } from './reconciler-lag.ts';

/** Counts the rows the database hands back, over every query. */
class RowCounter implements KyselyPlugin {
  rows = 0;
  transformQuery(args: PluginTransformQueryArgs) {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.rows += args.result.rows.length;
    return args.result;
  }
}

const SLOW_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** Durations (ms) of many kinds: on bucket bounds, just over them, sub-second, negative (a clock step), huge. */
function durations(n: number): number[] {
  const out = [0, 1, 999, 1000, 1001, 10_000, 10_001, 59_999, 60_000, 1_800_000, 1_800_001, 86_400_000, -5_000];
  for (let i = 0; out.length < n; i++) out.push((i * 7919) % 2_000_000);
  return out;
}

/** The histogram the old code built: every row observed one by one. */
async function observedOneByOne(name: string, seconds: number[]): Promise<string> {
  const registry = new Registry();
  const h = new Histogram({ name, help: 'x', buckets: SLOW_BUCKETS, registers: [registry] });
  for (const s of seconds) h.observe(s);
  return registry.metrics();
}

function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function fill(store: Store): Promise<{ deployments: number[]; environments: number[] }> {
  const ds = durations(400);
  const row = (id: string, finishedAt: string | null) => ({
    id,
    service: 'payments-api',
    env: 'feat',
    namespace: 'feat-alice',
    version: 'v1',
    previous_version: null,
    kind: 'deploy' as const,
    strategy: 'canary' as const,
    status: 'healthy' as const,
    reason: null,
    state: '{}',
    promotes: 0,
    abort_requested: 0,
    processes: null,
    created_at: at(0),
    created_by: 'user:default/alice',
    finished_at: finishedAt,
  });
  // And one still rolling out, which does not count.
  const rows = [...ds.map((ms, i) => row(`dep_${i}`, at(ms))), row('dep_running', null)];
  for (let i = 0; i < rows.length; i += 100)
    await store.db
      .insertInto('deployments')
      .values(rows.slice(i, i + 100))
      .execute();
  const es = durations(150);
  for (const [i, ms] of es.entries())
    await insertEnv(store.db, provisioningEnv(`e${i}`, new Date(T0), { status: 'ready', ready_at: at(ms) }));
  // Neither counts: a base environment, and one still provisioning.
  await insertEnv(store.db, provisioningEnv('base', new Date(T0), { kind: 'base', ready_at: at(3_000) }));
  await insertEnv(store.db, provisioningEnv('slow', new Date(T0)));
  const seconds = (ms: number) => Math.max(0, ms / 1000);
  return { deployments: ds.map(seconds), environments: es.map(seconds) };
}

function scenario(label: string, open: () => Promise<{ store: Store; done(): Promise<void> }>) {
  describe(`durations counted by the store (${label})`, () => {
    let store: Store;
    let done: () => Promise<void>;
    let expected: { deployments: number[]; environments: number[] };

    beforeAll(async () => {
      ({ store, done } = await open());
      expected = await fill(store);
    }, 60_000);
    afterAll(() => done?.());

    it('give the same histograms as observing every row, reading a few rows whatever the history', async () => {
      const counter = new RowCounter();
      const metrics = new ControlPlaneMetrics({
        db: store.db.withPlugin(counter),
        dialect: store.dialect,
        proxy: { prometheusFigures: () => [] },
        ownerOf: async () => null,
        reconciler: new ReconcilerLag(),
        replicas: () => [],
      });
      const text = await metrics.text();
      for (const [name, values] of [
        ['idp_deployment_duration_seconds', expected.deployments],
        ['idp_environment_provision_seconds', expected.environments],
      ] as const) {
        const want = samples(await observedOneByOne(name, values), name);
        const got = samples(text, name);
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [series, value] of want) {
          if (series.endsWith('_sum')) expect(got.get(series), series).toBeCloseTo(value, 6);
          else expect(got.get(series), series).toBe(value);
        }
        expect(got.get(`${name}_count`)).toBe(values.length);
      }
      // 550 finished rows in the tables; a scrape reads the aggregates (a handful of rows).
      expect(counter.rows).toBeLessThan(30);
    });
  });
}

scenario('SQLite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-sql-histogram-'));
  const store = await openStore({ dataDir });
  return {
    store,
    async done() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

const pg = await postgresAvailable();
if (pg)
  scenario('PostgreSQL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-sql-histogram-pg-'));
    const db = await createTempDatabase('idp_sqlhist');
    const store = await openStore({ dataDir, databaseUrl: db.url });
    return {
      store,
      async done() {
        await store.close();
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
