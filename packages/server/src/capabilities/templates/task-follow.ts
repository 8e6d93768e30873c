// Following a task's log: the lines written so far after a sequence number, then each new one as
// it is written (no line twice, none lost between the read and the subscription), then the task
// once it has ended.
import type { Task, TaskLogEntry } from '@idp/contracts';
import type { TaskStore } from './store.ts';
import type { TaskJobs } from './task-jobs.ts';
import { logView, taskView } from './task-view.ts';

/** Lines read from the store at once when catching up. */
const CATCH_UP = 10_000;

export async function followTask(
  store: TaskStore,
  jobs: TaskJobs,
  id: string,
  after: number,
  send: (entry: TaskLogEntry) => void,
  end: (task: Task) => void,
): Promise<() => void> {
  let last = after;
  // Lines written while the first read runs wait here, then go out in order after it.
  let pending: TaskLogEntry[] | null = [];
  let closed = false;
  const emit = (e: TaskLogEntry) => {
    if (e.seq <= last) return;
    last = e.seq;
    send(e);
  };
  const offLog = jobs.onLog(id, (e) => (pending ? pending.push(e) : emit(e)));
  const finish = async () => {
    if (closed) return;
    for (const e of await store.logs(id, last, CATCH_UP)) emit(logView(e));
    const row = await store.get(id);
    if (!row || row.status === 'open' || row.status === 'processing') return;
    closed = true;
    stop();
    end(taskView(row, await store.steps(id)));
  };
  const offEnd = jobs.onEnd(id, () => void finish().catch(() => {}));
  const stop = () => {
    offLog();
    offEnd();
  };
  for (const e of await store.logs(id, after, CATCH_UP)) emit(logView(e));
  const queued = pending;
  pending = null;
  for (const e of queued) emit(e);
  const row = await store.get(id);
  if (row && row.status !== 'open' && row.status !== 'processing' && !jobs.running(id)) await finish();
  return () => {
    closed = true;
    stop();
  };
}
