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
 * never dropped under a CREATE DATABASE that reads it. A replaced snapshot is dropped as soon as
 * no environment still being provisioned names it (a clone resumed after a restart may still copy
 * it); every later look at the base (a clone, a refresh) drops what is no longer needed, and so
 * does the start-up sweep, which also drops the snapshots of bases gone from the config and any
 * a crash left behind (half-written, or replaced but not yet dropped).
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
    return `idp_snap_${baseDatabase.slice(0, 30)}_${await this.install()}_`;
  }

  /** This install's id (made at the first snapshot, kept in the state store). */
  private async install(): Promise<string> {
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
    return this.installId;
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
      if (info.exists) {
        await this.dropStale(prefix, row.database_name);
        return {
          database: row.database_name,
          takenAt: row.taken_at,
          fresh: false,
          durationMs: Number(row.duration_ms),
        };
      }
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
    if (process.env.IDP_TEST_CRASH_AT === 'snapshot:recorded') process.kill(process.pid, 'SIGKILL');
    await this.dropStale(prefix, target);
    this.log(`environments: new snapshot of ${base} (${baseDatabase}) in ${durationMs} ms`);
    return { database: target, takenAt, fresh: true, durationMs };
  }

  /**
   * Snapshots of one base (by name prefix) other than the current one: replaced ones, and any a
   * crash left half-written; those a clone in progress names are kept for a later look.
   */
  private async dropStale(prefix: string, keep: string): Promise<void> {
    const stale = (await this.pg.listDatabases(prefix)).filter((name) => name !== keep);
    if (stale.length === 0) return;
    const busy = await this.inUse();
    for (const name of stale) if (!busy.has(name)) await this.drop(name);
  }

  /**
   * At start-up (before any environment step runs): drops every snapshot of this install that is
   * not the recorded current one of a configured base, unless an environment still being
   * provisioned names it, and forgets the records of bases no longer configured (or whose base
   * database changed). Returns the databases dropped.
   */
  async sweep(bases: Record<string, { database?: string }>): Promise<string[]> {
    const keep = new Set<string>();
    for (const row of await this.db.selectFrom('environment_snapshots').selectAll().execute()) {
      const database = Object.hasOwn(bases, row.base) ? bases[row.base]!.database : undefined;
      if (database && row.database_name.startsWith(await this.prefixFor(database))) keep.add(row.database_name);
      else await this.db.deleteFrom('environment_snapshots').where('base', '=', row.base).execute();
    }
    const busy = await this.inUse();
    const dropped: string[] = [];
    for (const name of await this.ours()) {
      if (keep.has(name) || busy.has(name)) continue;
      if (await this.drop(name)) dropped.push(name);
    }
    return dropped;
  }

  /** Every snapshot database of this install: `idp_snap_<base database>_<install id>_<stamp>`. */
  private async ours(): Promise<string[]> {
    const mine = new RegExp(`^idp_snap_.*_${await this.install()}_[0-9a-z]+$`);
    return (await this.pg.listDatabases('idp_snap_')).filter((name) => mine.test(name));
  }

  /** Snapshots an environment still being provisioned names: its clone may copy it again after a restart. */
  private async inUse(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('environments')
      .select('snapshot')
      .where('status', '=', 'provisioning')
      .where('snapshot', 'is not', null)
      .execute();
    const names = new Set<string>();
    for (const { snapshot } of rows) {
      try {
        const parsed: unknown = JSON.parse(snapshot!);
        if (parsed && typeof parsed === 'object' && 'database' in parsed && typeof parsed.database === 'string')
          names.add(parsed.database);
      } catch {
        /* not a snapshot record: names nothing */
      }
    }
    return names;
  }

  private async drop(name: string): Promise<boolean> {
    try {
      await this.pg.dropDatabase(name);
      this.log(`environments: dropped snapshot ${name}`);
      return true;
    } catch (err) {
      this.log(`environments: could not drop old snapshot ${name}: ${(err as Error).message}`);
      return false;
    }
  }
}
