// After a large write on SQLite, the WAL holds every page it changed, and the commit that crosses
// wal_autocheckpoint copies them all into the database file, on the event loop: a 10,000-entity
// ingest stalls every query for about a quarter of a second there. Around such a write, the write
// connection does not checkpoint; a worker thread with a connection of its own does it after the
// commit, while queries go on (a PASSIVE checkpoint never blocks readers or the writer).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { sql, type Kysely } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';

const CHECKPOINT_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
try {
  db.pragma('busy_timeout = 5000');
  parentPort.postMessage(db.pragma('wal_checkpoint(PASSIVE)'));
} finally {
  db.close();
}`;

/** Runs `write` with the write connection's checkpoints left to a worker thread after it (SQLite files only). */
export async function checkpointOffThread<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  write: () => Promise<T>,
): Promise<T> {
  if (dialect !== 'sqlite') return write();
  const files = await sql<{ name: string; file: string }>`pragma database_list`.execute(db);
  const file = files.rows.find((r) => r.name === 'main')?.file;
  if (!file) return write(); // in memory: no WAL
  const before = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  const every = Number(before.rows[0]?.wal_autocheckpoint ?? 1000);
  await sql.raw('pragma wal_autocheckpoint = 0').execute(db);
  try {
    return await write();
  } finally {
    // Should the worker fail, the next commit on the write connection checkpoints as before.
    await checkpointInWorker(file).catch(() => {});
    await sql.raw(`pragma wal_autocheckpoint = ${Math.max(0, Math.floor(every))}`).execute(db);
  }
}

function checkpointInWorker(file: string): Promise<void> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECKPOINT_SCRIPT, { eval: true, workerData: { module, file }, env: {} });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`checkpoint worker exited (${code})`))));
  });
}
