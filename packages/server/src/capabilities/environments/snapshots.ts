import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PostgresProvider } from '@idp/provider-postgres';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { KeyedMutex } from '../../util/keyed-mutex.ts';

export interface SnapshotInfo {
  database: string;
  takenAt: string;
  /** true when this call took it (the base had changed, or had none yet). */
  fresh: boolean;
  durationMs: number;
}

/**
 * Frozen copies of base databases. A clone is `CREATE DATABASE … TEMPLATE <snapshot>`: a file
 * copy that needs the template to have no connections, which a live staging never guarantees
 * and which must never be forced (terminating staging's sessions is not ours to do). So the
 * template is a snapshot nobody connects to, written by pg_dump | pg_restore (MVCC-consistent,
 * ACCESS SHARE locks only) and replaced when the base's change counter moves.
 *
 * Each base has a mutex: a clone and a refresh of the same base never overlap, so a snapshot is
 * never dropped under a CREATE DATABASE that reads it.
 */
export class Snapshots {
  private readonly bases = new KeyedMutex();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pg: PostgresProvider,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs fn while holding the base's mutex. */
  withBase<T>(base: string, fn: () => Promise<T>): Promise<T> {
    return this.bases.run(base, fn);
  }

  private installId: string | null = null;

  /**
   * Name prefix of a base database's snapshots: unique per base database and per idp install
   * (a random id kept in the state store), so installs sharing a PostgreSQL server never drop
   * each other's snapshots.
   */
  async prefixFor(baseDatabase: string): Promise<string> {
    if (!this.installId) {
      const fresh = randomBytes(4).toString('hex');
      await this.db
        .insertInto('idp_meta')
        .values({ key: 'install_id', value: fresh, updated_at: this.clock.now().toISOString() })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const row = await this.db
        .selectFrom('idp_meta')
        .select('value')
        .where('key', '=', 'install_id')
        .executeTakeFirstOrThrow();
      this.installId = row.value;
    }
    return `idp_snap_${baseDatabase.slice(0, 30)}_${this.installId}_`;
  }

  /** The current snapshot of `baseDatabase`, taking a new one first when the base changed. Call under withBase. */
  async current(base: string, baseDatabase: string): Promise<SnapshotInfo> {
    const counter = await this.pg.changeCounter(baseDatabase);
    const row = await this.db
      .selectFrom('environment_snapshots')
      .selectAll()
      .where('base', '=', base)
      .executeTakeFirst();
    const prefix = await this.prefixFor(baseDatabase);
    if (row && row.change_counter === counter && row.database_name.startsWith(prefix)) {
      const info = await this.pg.databaseInfo(row.database_name);
      if (info.exists)
        return {
          database: row.database_name,
          takenAt: row.taken_at,
          fresh: false,
          durationMs: Number(row.duration_ms),
        };
    }
    const started = performance.now();
    const target = `${prefix}${Date.now().toString(36)}`;
    await this.pg.snapshot(baseDatabase, target, `idp:snapshot:${base}`);
    const takenAt = this.clock.now().toISOString();
    const durationMs = Math.round(performance.now() - started);
    await this.db
      .insertInto('environment_snapshots')
      .values({ base, database_name: target, taken_at: takenAt, change_counter: counter, duration_ms: durationMs })
      .onConflict((oc) =>
        oc
          .column('base')
          .doUpdateSet({ database_name: target, taken_at: takenAt, change_counter: counter, duration_ms: durationMs }),
      )
      .execute();
    await this.dropStale(baseDatabase, target);
    this.log(`environments: new snapshot of ${base} (${baseDatabase}) in ${durationMs} ms`);
    return { database: target, takenAt, fresh: true, durationMs };
  }

  /** Snapshots of this base other than the current one: replaced ones, and any a crash left half-written. */
  private async dropStale(baseDatabase: string, keep: string): Promise<void> {
    for (const name of await this.pg.listDatabases(await this.prefixFor(baseDatabase))) {
      if (name !== keep)
        await this.pg
          .dropDatabase(name)
          .catch((err: Error) => this.log(`environments: could not drop old snapshot ${name}: ${err.message}`));
    }
  }
}
