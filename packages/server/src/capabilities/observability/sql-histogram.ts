// A histogram of durations between two timestamp columns of the store, counted by the database:
// one aggregate row per scrape (COUNT, SUM and one SUM(CASE …) per bucket) however many rows the
// table holds, so a scrape's cost does not grow with the platform's history.
import { sql, type Kysely } from 'kysely';
import type { Metric, Registry } from 'prom-client';
import type { Database, Dialect } from '../../store/index.ts';

export interface DurationHistogramSpec {
  name: string;
  help: string;
  /** Upper bounds in seconds, ascending. */
  buckets: readonly number[];
  table: 'environments' | 'deployments';
  /** When it started and ended: ISO-8601 text columns; rows whose end is null are not counted. */
  from: 'created_at';
  to: 'ready_at' | 'finished_at';
  /** Only rows of this kind (environments' `kind`), when set. */
  kind?: string;
}

export interface DurationFigures {
  count: number;
  sumSeconds: number;
  /** Rows at or under each bucket's bound, in the buckets' order. */
  cumulative: number[];
}

/** Milliseconds from `from` to `to` (0 when `to` is earlier), in the store's SQL. */
function millisBetween(dialect: Dialect, from: string, to: string) {
  const f = sql.ref(from);
  const t = sql.ref(to);
  const diff =
    dialect === 'postgres'
      ? sql`ROUND(EXTRACT(EPOCH FROM (CAST(${t} AS timestamptz) - CAST(${f} AS timestamptz))) * 1000)`
      : sql`ROUND((julianday(${t}) - julianday(${f})) * 86400000.0)`;
  return sql`CASE WHEN ${diff} < 0 THEN 0 ELSE ${diff} END`;
}

/** One row: how many rows, their total and per-bucket counts (milliseconds, so the sum is exact). */
export async function readDurations(
  db: Kysely<Database>,
  dialect: Dialect,
  spec: DurationHistogramSpec,
): Promise<DurationFigures> {
  const ms = millisBetween(dialect, spec.from, spec.to);
  const buckets = spec.buckets.map(
    (le, i) => sql`SUM(CASE WHEN d <= ${sql.lit(Math.round(le * 1000))} THEN 1 ELSE 0 END) AS ${sql.ref(`b${i}`)}`,
  );
  const kind = spec.kind === undefined ? sql`` : sql` AND kind = ${spec.kind}`;
  const query = sql<
    Record<string, number | string | null>
  >`SELECT COUNT(*) AS n, SUM(d) AS total, ${sql.join(buckets)} FROM (SELECT ${ms} AS d FROM ${sql.table(spec.table)} WHERE ${sql.ref(spec.to)} IS NOT NULL${kind}) AS durations`;
  const row = (await query.execute(db)).rows[0] ?? {};
  const num = (v: number | string | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
  return {
    count: num(row.n),
    sumSeconds: num(row.total) / 1000,
    cumulative: spec.buckets.map((_, i) => num(row[`b${i}`])),
  };
}

/**
 * Registers the histogram in `registry`: prom-client asks it for its values at each scrape, and
 * it reads them with readDurations (prom-client's own Histogram can only count one observation
 * at a time).
 */
export function registerDurationHistogram(
  registry: Registry,
  db: Kysely<Database>,
  dialect: Dialect,
  spec: DurationHistogramSpec,
): void {
  const { name, help } = spec;
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const h = await readDurations(db, dialect, spec);
      return {
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...spec.buckets.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i] })),
          { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count },
          { metricName: `${name}_sum`, labels: {}, value: h.sumSeconds },
          { metricName: `${name}_count`, labels: {}, value: h.count },
        ],
      };
    },
  };
  // The registry only calls get() (and reads name and type) of what it holds.
  registry.registerMetric(metric as unknown as Metric);
}
