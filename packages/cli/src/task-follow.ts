import { IdpError, type Task, type TaskLogEntry } from '@idp/contracts';
import type { IdpClient, TaskEvent } from '@idp/client';
import { taskEnded } from './render/task-progress.ts';

/** What a follower does with what it reads. */
export interface TaskWatcher {
  /**
   * A fresh snapshot of the task (read every second, and when a log line names a step not yet
   * seen); `final` once every log line has been given (the task has ended).
   */
  task(task: Task, final: boolean): void;
  log(entry: TaskLogEntry): void;
  /** Whether to read the task before printing this line (see TaskProgress.knows). */
  needsTask?(entry: TaskLogEntry): boolean;
  /** Notes for the person: a lost connection, a reconnect. */
  info(line: string): void;
}

export interface FollowOptions {
  /** Follow the log from after this sequence number (a retry: after the lines of earlier runs). */
  after?: number;
  /** Stops following early (Ctrl-C); the task goes on on the server. */
  signal?: AbortSignal;
  /** How long the control plane may stay unreachable (a restart) before giving up; default 120 s. */
  reconnectForMs?: number;
  /** How often the task is read while its log is quiet; default 1 s. */
  refreshMs?: number;
}

/**
 * Follows a task until it ends: its log over server-sent events, plus a read of the task every
 * second so steps that log nothing still show their start and finish. A stream that breaks (the
 * control plane restarting, which resumes the task) is reopened from the last line read, for as
 * long as `reconnectForMs` allows. Resolves with the last snapshot of the task: ended, or as it
 * was when `signal` aborted.
 */
export async function followTask(
  api: IdpClient,
  start: Task,
  watcher: TaskWatcher,
  opts: FollowOptions = {},
): Promise<Task> {
  const reconnectForMs = opts.reconnectForMs ?? 120_000;
  const refreshMs = opts.refreshMs ?? 1000;
  let task = start;
  let after = opts.after ?? 0;
  let lostSince: number | undefined;
  watcher.task(task, taskEnded(task));

  /** A broken connection: wait and try again, or give up once it has lasted too long. */
  const lost = async (err: unknown): Promise<void> => {
    if (!reconnectable(err)) throw err;
    if (lostSince === undefined) {
      lostSince = Date.now();
      watcher.info('Lost the connection to the control plane; reconnecting…');
    }
    if (Date.now() - lostSince > reconnectForMs) throw err;
    await pause(500, opts.signal);
  };
  const connected = (): void => {
    if (lostSince === undefined) return;
    lostSince = undefined;
    watcher.info('Reconnected.');
  };

  const refresh = async (): Promise<void> => {
    task = await api.task(task.id);
    watcher.task(task, false);
  };

  while (!opts.signal?.aborted) {
    const stream = new AbortController();
    const stop = () => stream.abort();
    opts.signal?.addEventListener('abort', stop, { once: true });
    const events = api.followTaskLogs(task.id, stream.signal, after)[Symbol.asyncIterator]();
    let ended = false;
    let endedSeen = 0; // reads that found the task ended while its stream had not said so yet
    let next = events.next();
    try {
      for (;;) {
        const event = await nextOrTick(next, refreshMs);
        if (event === 'tick') {
          await refresh();
          connected();
          // The stream ends with the task; two reads seeing it ended without that mean it will not come.
          if (taskEnded(task) && ++endedSeen >= 2) {
            watcher.task(task, true);
            ended = true;
            break;
          }
          continue;
        }
        connected();
        if (event.done) break;
        next = events.next();
        const item: TaskEvent = event.value;
        if (item.kind === 'task') {
          task = item.task;
          watcher.task(task, true);
          ended = true;
          break;
        }
        after = Math.max(after, item.entry.seq);
        if (watcher.needsTask?.(item.entry)) await refresh();
        watcher.log(item.entry);
      }
    } catch (err) {
      if (opts.signal?.aborted) break;
      await lost(err);
      continue;
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      stream.abort();
      next.catch(() => {}); // the read left pending ends with the abort
    }
    if (ended || opts.signal?.aborted) break;
    // The stream closed without the task: read where it is, then follow again from the last line.
    try {
      await refresh();
      connected();
      if (taskEnded(task)) {
        // Lines written between the last one read and the end.
        for (const entry of (await api.taskLogs(task.id, after)).items) {
          after = Math.max(after, entry.seq);
          watcher.log(entry);
        }
        watcher.task(task, true);
        break;
      }
    } catch (err) {
      await lost(err);
    }
  }
  return task;
}

/** The next event, or 'tick' when none came within `ms` (the pending read is kept for the next call). */
async function nextOrTick<T>(next: Promise<T>, ms: number): Promise<T | 'tick'> {
  let timer: NodeJS.Timeout | undefined;
  const tick = new Promise<'tick'>((resolve) => {
    timer = setTimeout(() => resolve('tick'), ms);
  });
  try {
    return await Promise.race([next, tick]);
  } finally {
    clearTimeout(timer);
  }
}

/** A control plane that is down or restarting; anything else (a 404, a refusal) is final. */
function reconnectable(err: unknown): boolean {
  if (err instanceof IdpError) return err.code === 'SERVER_UNREACHABLE' || err.status === 502 || err.status === 503;
  // The body of a stream cut short surfaces as undici's TypeError ("terminated").
  return err instanceof TypeError;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
