// Copying a database with pg_dump | pg_restore: connection flags, the temporary PGPASSFILE, the two processes.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdpError } from '@idp/contracts';
import { SNAPSHOT_OWNER } from './pg-names.ts';

/**
 * libpq connection parameters a URL's query may carry, and the environment variable each has:
 * the client programs get them through their environment, never their command line.
 */
const PG_QUERY_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** A .pgpass field: `\` and `:` are escaped with a backslash. */
function pgpassField(text: string): string {
  return text.replace(/[\\:]/g, (c) => `\\${c}`);
}

/**
 * How pg_dump and pg_restore reach the server: host, port, user and database name as separate
 * flags (the flags win over inherited PGHOST/PGPORT/PGUSER), and the password in a PGPASSFILE
 * (0600, in a 0700 directory, removed afterwards), so the admin password is never on a command
 * line (`ps` shows every uid's) nor in the child's environment. The caller removes `dir`.
 */
async function pgClientArgs(
  adminUrl: string,
): Promise<{ flags: (database: string) => string[]; env: NodeJS.ProcessEnv; dir: string }> {
  const u = new URL(adminUrl);
  const dir = await mkdtemp(join(tmpdir(), 'idp-pgpass-'));
  const passfile = join(dir, 'pgpass');
  const password = decodeURIComponent(u.password);
  // The file holds one line for this one invocation, so wildcards match nothing else.
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (password) {
    await writeFile(passfile, `*:*:*:*:${pgpassField(password)}\n`, { mode: 0o600 });
    // PGPASSWORD would win over the file; the URL's password is the one the node client uses too.
    delete env.PGPASSWORD;
    env.PGPASSFILE = passfile;
  }
  for (const [key, value] of u.searchParams) if (PG_QUERY_ENV[key]) env[PG_QUERY_ENV[key]] = value;
  const user = decodeURIComponent(u.username);
  const host = decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1') || u.searchParams.get('host') || '127.0.0.1';
  const flags = (database: string) => [
    '--host',
    host,
    '--port',
    u.port || '5432',
    ...(user ? ['--username', user] : []),
    '--no-password',
    '--dbname',
    database,
  ];
  return { flags, env, dir };
}

/** pg_dump -Fc | pg_restore, without a shell: each program gets its arguments as an array. */
export async function pipeDumpRestore(adminUrl: string, source: string, target: string): Promise<void> {
  const conn = await pgClientArgs(adminUrl);
  try {
    await runDumpRestore(conn, source, target);
  } finally {
    await rm(conn.dir, { recursive: true, force: true });
  }
}

function runDumpRestore(
  conn: { flags: (database: string) => string[]; env: NodeJS.ProcessEnv },
  source: string,
  target: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const dump = spawn('pg_dump', ['--format=custom', '--no-owner', '--no-acl', ...conn.flags(source)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: conn.env,
    });
    const restore = spawn(
      'pg_restore',
      ['--no-owner', '--no-acl', '--role', SNAPSHOT_OWNER, '--exit-on-error', ...conn.flags(target)],
      { stdio: ['pipe', 'ignore', 'pipe'], env: conn.env },
    );
    let dumpErr = '';
    let restoreErr = '';
    dump.stderr.on('data', (d: Buffer) => {
      dumpErr += d.toString();
    });
    restore.stderr.on('data', (d: Buffer) => {
      restoreErr += d.toString();
    });
    dump.stdout.pipe(restore.stdin);
    restore.stdin.on('error', () => {});
    let pending = 2;
    // When both fail, pg_dump's error is the cause (pg_restore then only saw a cut input), whichever
    // of the two exits first.
    const failed: { pg_dump?: Error; pg_restore?: Error } = {};
    const done = (prog: 'pg_dump' | 'pg_restore', err: Error | null) => {
      if (err) failed[prog] ??= err;
      if (--pending > 0) return;
      const first = failed.pg_dump ?? failed.pg_restore;
      if (first) reject(first);
      else resolve();
    };
    const missing = (prog: 'pg_dump' | 'pg_restore') => (err: NodeJS.ErrnoException) =>
      done(
        prog,
        new IdpError(
          'ENV_PROVIDER_UNAVAILABLE',
          `${prog} is not installed: snapshots of base databases need the PostgreSQL client programs`,
          {
            resource: 'database',
            hint: "Install the PostgreSQL client (Debian: apt install postgresql-client) on the control plane's machine.",
            cause: err.code,
          },
        ),
      );
    dump.on('error', missing('pg_dump'));
    restore.on('error', missing('pg_restore'));
    dump.on('close', (code) =>
      done('pg_dump', code === 0 ? null : new Error(`pg_dump exited with ${code}: ${dumpErr.trim().slice(-500)}`)),
    );
    restore.on('close', (code) =>
      done(
        'pg_restore',
        code === 0 ? null : new Error(`pg_restore exited with ${code}: ${restoreErr.trim().slice(-500)}`),
      ),
    );
  });
}
