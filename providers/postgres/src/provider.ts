import pg from 'pg';
import { IdpError } from '@idp/contracts';
import { pipeDumpRestore } from './dump-restore.ts';
import { assertPgName, SNAPSHOT_OWNER } from './pg-names.ts';

export { assertPgName, SNAPSHOT_OWNER } from './pg-names.ts';

const { Client, escapeIdentifier, escapeLiteral } = pg;

export interface CloneResult {
  /** Whether this call made the database (false: it was already there, made for this marker). */
  created: boolean;
}

export interface PostgresEndpoint {
  host: string;
  port: number;
}

/**
 * The PostgreSQL provider: databases and roles on a server reached with an admin URL. Every
 * operation is idempotent, so a step the control plane re-runs after a crash converges instead
 * of failing on what its first attempt already made. Databases idp makes carry a comment marker
 * (`idp:<owner id>`) so that a name clash with a database someone else made is refused, never
 * adopted or dropped.
 */
export class PostgresProvider {
  readonly endpoint: PostgresEndpoint;

  constructor(readonly adminUrl: string) {
    const u = new URL(adminUrl);
    this.endpoint = { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) };
  }

  /** Runs fn on a fresh admin connection to `database` (the admin URL's own when omitted). */
  async withClient<T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
    const c = new Client({ connectionString: this.urlFor(database), connectionTimeoutMillis: 5000 });
    // An admin connection that dies under a statement is reported by the statement; without a
    // listener the 'error' event would crash the control plane.
    c.on('error', () => {});
    await c.connect();
    try {
      // If the control plane dies mid-statement (a long CREATE DATABASE), PostgreSQL notices the
      // closed socket and cancels instead of finishing work nobody will record.
      await c.query("SET client_connection_check_interval = '1s'");
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }

  /** `null` when reachable, else why not. */
  async check(): Promise<string | null> {
    try {
      await this.withClient((c) => c.query('SELECT 1'));
      return null;
    } catch (err) {
      return (err as Error).message || String(err);
    }
  }

  urlFor(database?: string, user?: string, password?: string): string {
    const u = new URL(this.adminUrl);
    if (database) u.pathname = `/${encodeURIComponent(database)}`;
    if (user !== undefined) {
      u.username = encodeURIComponent(user);
      u.password = password === undefined ? '' : encodeURIComponent(password);
    }
    return u.toString();
  }

  async databaseInfo(name: string): Promise<{ exists: boolean; marker: string | null; isTemplate: boolean }> {
    return this.withClient(async (c) => {
      const r = await c.query<{ marker: string | null; datistemplate: boolean }>(
        `SELECT shobj_description(oid, 'pg_database') AS marker, datistemplate FROM pg_database WHERE datname = $1`,
        [name],
      );
      const row = r.rows[0];
      return row
        ? { exists: true, marker: row.marker, isTemplate: row.datistemplate }
        : { exists: false, marker: null, isTemplate: false };
    });
  }

  async listDatabases(prefix: string): Promise<string[]> {
    return this.withClient(async (c) => {
      const r = await c.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`,
        [prefix],
      );
      return r.rows.map((x) => x.datname);
    });
  }

  /** Creates (or updates the password of) a login role; marked so it is recognised later. */
  async ensureRole(name: string, password: string, marker: string): Promise<void> {
    assertPgName(name, 'role');
    await this.withClient(async (c) => {
      const exists = await c.query<{ marker: string | null }>(
        `SELECT shobj_description(oid, 'pg_authid') AS marker FROM pg_roles WHERE rolname = $1`,
        [name],
      );
      const row = exists.rows[0];
      if (row && row.marker !== marker) {
        throw new IdpError(
          'ENV_RESOURCE_CONFLICT',
          `PostgreSQL role ${name} already exists and was not made by idp for this environment`,
          { resource: 'database', role: name },
        );
      }
      // Utility statements take no parameters; the password is generated from [A-Za-z0-9] and
      // quoted as a literal all the same.
      if (!row) {
        // One transaction: a role without our marker is never one we made.
        await c.query('BEGIN');
        await c.query(
          `CREATE ROLE ${escapeIdentifier(name)} LOGIN PASSWORD ${escapeLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE`,
        );
        await c.query(`COMMENT ON ROLE ${escapeIdentifier(name)} IS ${escapeLiteral(marker)}`);
        await c.query('COMMIT');
      } else {
        await c.query(`ALTER ROLE ${escapeIdentifier(name)} LOGIN PASSWORD ${escapeLiteral(password)}`);
      }
    });
  }

  /**
   * Makes `name` a copy of the template database (a quiesced snapshot nobody connects to, so
   * the copy never waits on or disturbs anyone), owned by `owner` down to every object in it.
   * `adoptUnmarked`: a database of this name without a marker is ours (a crash hit between
   * CREATE DATABASE and COMMENT in an earlier attempt of the same step).
   */
  async cloneDatabase(opts: {
    template: string;
    name: string;
    owner: string;
    marker: string;
    adoptUnmarked: boolean;
    /** Called (and awaited) just before CREATE DATABASE: the caller records that it may now own an unmarked database of this name. */
    beforeCreate?: () => Promise<void>;
    afterCreate?: () => void;
  }): Promise<CloneResult> {
    const { template, name, owner, marker } = opts;
    assertPgName(template, 'template');
    assertPgName(name, 'database');
    assertPgName(owner, 'role');
    const info = await this.databaseInfo(name);
    let created = false;
    if (info.exists) {
      if (info.marker !== marker && !(info.marker === null && opts.adoptUnmarked)) {
        throw new IdpError(
          'ENV_RESOURCE_CONFLICT',
          `PostgreSQL database ${name} already exists and was not made by idp for this environment`,
          { resource: 'database', database: name },
        );
      }
    } else {
      await opts.beforeCreate?.();
      await this.withClient(async (c) => {
        await c.query(
          `CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE ${escapeIdentifier(template)} STRATEGY FILE_COPY`,
        );
        opts.afterCreate?.();
        await c.query(`COMMENT ON DATABASE ${escapeIdentifier(name)} IS ${escapeLiteral(marker)}`);
      });
      created = true;
    }
    await this.withClient(async (c) => {
      await c.query(`ALTER DATABASE ${escapeIdentifier(name)} OWNER TO ${escapeIdentifier(owner)}`);
      await c.query(`REVOKE ALL ON DATABASE ${escapeIdentifier(name)} FROM PUBLIC`);
      await c.query(`GRANT ALL ON DATABASE ${escapeIdentifier(name)} TO ${escapeIdentifier(owner)}`);
    });
    // Every schema, table, sequence, view and function restored into the snapshot belongs to the
    // snapshot owner; one REASSIGN (inside this database only) gives them all to the new role.
    await this.withClient(async (c) => {
      const hasOwner = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [SNAPSHOT_OWNER]);
      if (hasOwner.rowCount)
        await c.query(`REASSIGN OWNED BY ${escapeIdentifier(SNAPSHOT_OWNER)} TO ${escapeIdentifier(owner)}`);
    }, name);
    return { created };
  }

  /**
   * Drops a database idp made (connections to it are ended: it is being deleted). With a marker,
   * a database carrying another marker is not ours: it is left alone ('foreign'); so is one with
   * no marker, unless `adoptUnmarked` (the caller recorded that it issued CREATE DATABASE and may
   * have died before the COMMENT).
   */
  async dropDatabase(name: string, marker?: string, adoptUnmarked = false): Promise<'dropped' | 'absent' | 'foreign'> {
    assertPgName(name, 'database');
    const info = await this.databaseInfo(name);
    if (!info.exists) return 'absent';
    if (marker !== undefined && info.marker !== marker && !(info.marker === null && adoptUnmarked)) return 'foreign';
    await this.withClient(async (c) => {
      if (info.isTemplate) await c.query(`ALTER DATABASE ${escapeIdentifier(name)} IS_TEMPLATE false`);
      await c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
    });
    return 'dropped';
  }

  async dropRole(name: string, marker?: string): Promise<'dropped' | 'absent' | 'foreign'> {
    assertPgName(name, 'role');
    return this.withClient(async (c) => {
      const r = await c.query<{ marker: string | null }>(
        `SELECT shobj_description(oid, 'pg_authid') AS marker FROM pg_roles WHERE rolname = $1`,
        [name],
      );
      const row = r.rows[0];
      if (!row) return 'absent';
      if (marker !== undefined && row.marker !== marker) return 'foreign';
      await c.query(`DROP ROLE IF EXISTS ${escapeIdentifier(name)}`);
      return 'dropped';
    });
  }

  /** Creates an empty database (a base environment on first start) owned by the admin user. */
  async ensureDatabase(name: string, marker: string): Promise<boolean> {
    assertPgName(name, 'database');
    const info = await this.databaseInfo(name);
    if (info.exists) return false;
    try {
      await this.withClient(async (c) => {
        await c.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
        await c.query(`COMMENT ON DATABASE ${escapeIdentifier(name)} IS ${escapeLiteral(marker)}`);
        // Environments' roles must not even connect to a base database.
        await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${escapeIdentifier(name)} FROM PUBLIC`);
      });
    } catch (err) {
      // Another control plane made it at the same moment: it is there, and not ours to seed.
      if ((err as { code?: string }).code === '42P04') return false;
      throw err;
    }
    return true;
  }

  /**
   * Lets a role use a database it does not own (a base environment's workloads): connect, use
   * and create in schema public, read and write every table and sequence, now and later.
   */
  async grantUse(database: string, role: string): Promise<void> {
    assertPgName(database, 'database');
    assertPgName(role, 'role');
    const r = escapeIdentifier(role);
    await this.withClient((c) => c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${escapeIdentifier(database)} TO ${r}`));
    await this.withClient(async (c) => {
      await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${r}`);
      await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${r}`);
      await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${r}`);
      await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO ${r}`);
      await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO ${r}`);
    }, database);
  }

  async exec(database: string, sqlText: string): Promise<void> {
    await this.withClient((c) => c.query(sqlText), database);
  }

  /**
   * A cheap change counter for a database: rows inserted, updated and deleted since statistics
   * were last reset, plus its DDL-visible table count. Equal counters → the snapshot is current.
   */
  async changeCounter(database: string): Promise<string> {
    return this.withClient(async (c) => {
      const r = await c.query<{ v: string }>(
        `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text || '/' || count(*)::text AS v FROM pg_stat_user_tables`,
      );
      return r.rows[0]?.v ?? '0/0';
    }, database);
  }

  /**
   * Writes a consistent copy of `source` into a new database `target` with pg_dump | pg_restore:
   * pg_dump reads from one MVCC snapshot and takes only ACCESS SHARE locks, so the source's
   * sessions are never terminated or blocked. The copy is then frozen as a template nobody may
   * connect to, which is what makes each clone a fast, wait-free file copy.
   */
  async snapshot(source: string, target: string, marker: string): Promise<void> {
    assertPgName(source, 'database');
    assertPgName(target, 'database');
    await this.withClient(async (c) => {
      const role = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [SNAPSHOT_OWNER]);
      if (!role.rowCount) {
        await c.query(`CREATE ROLE ${escapeIdentifier(SNAPSHOT_OWNER)} NOLOGIN`).catch((err: Error) => {
          if (!/already exists/.test(err.message)) throw err;
        });
      }
      await c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(target)} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${escapeIdentifier(target)}`);
      await c.query(`COMMENT ON DATABASE ${escapeIdentifier(target)} IS ${escapeLiteral(marker)}`);
      await c.query(`GRANT ALL ON DATABASE ${escapeIdentifier(target)} TO ${escapeIdentifier(SNAPSHOT_OWNER)}`);
    });
    await this.withClient((c) => c.query(`ALTER SCHEMA public OWNER TO ${escapeIdentifier(SNAPSHOT_OWNER)}`), target);
    await pipeDumpRestore(this.adminUrl, source, target);
    await this.withClient(async (c) => {
      await c.query(`ALTER DATABASE ${escapeIdentifier(target)} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`);
    });
  }
}
