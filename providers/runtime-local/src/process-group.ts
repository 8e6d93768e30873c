// Process-group helpers: signal a whole replica tree, tell when it is gone, and kill groups a
// previous control plane recorded.
//
// Every replica runs in its own session and process group (spawn `detached`), so one signal to
// -pgid reaches the shell, the service and anything the service started. Detached groups are NOT
// killed when the control plane dies: that is deliberate (the stable release must keep serving
// across a control-plane restart, issue 6 point 6), and the cost is that the control plane must
// persist each replica's RecordedProcess and, on start, adopt or kill what it recorded
// (`killRecorded`). The start time read from /proc guards against killing an unrelated process
// that got a recycled pid.
import { readdirSync, readFileSync } from 'node:fs';

export interface RecordedProcess {
  pid: number;
  /** Process group id; equal to pid for replicas the supervisor started. */
  pgid: number;
  /** Start time of pid in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  startTime?: number;
}

interface ProcStat {
  state: string;
  pgid: number;
  startTime: number;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgid = Number(fields[2]);
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isFinite(pgid) || !Number.isFinite(startTime)) return undefined;
  return { state, pgid, startTime };
}

/** The start time of pid (Linux /proc), or undefined elsewhere or when pid is gone. */
export function processStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/** Send signal to every process of the group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    return false;
  }
}

/** True while pid exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readProcStat(pid);
  return stat === undefined || (stat.state !== 'Z' && stat.state !== 'X');
}

/**
 * True while some process of the group is alive. Zombies do not count: when the replica's shell
 * has exited, its children are re-parented to PID 1, and a PID 1 that does not reap (common in
 * containers) would otherwise keep a killed group "alive" for ever.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc: trust kill(0)
  }
  for (const entry of entries) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves true once the group is gone, false if it still lives after timeoutMs. */
export async function waitGroupGone(pgid: number, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!isGroupAlive(pgid)) return true;
    if (Date.now() >= until) return false;
    await sleep(pollMs);
  }
}

/** SIGTERM the group, SIGKILL it after graceMs; resolves when no process of it is left. */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  // SIGKILL cannot be caught; this only waits for the kernel to tear the processes down.
  while (!(await waitGroupGone(pgid, 1000))) signalGroup(pgid, 'SIGKILL');
}

export interface KillRecordedResult {
  /** Groups that were alive and are now gone. */
  killed: number[];
  /** Groups that were already gone. */
  gone: number[];
  /** Groups whose leader pid now belongs to another process (pid recycled): left alone. */
  skipped: number[];
}

/**
 * Kill process groups recorded by an earlier control plane (or by this one). A plain number is
 * taken as a pid that leads its own group. Each group gets SIGTERM, then SIGKILL after graceMs.
 */
export async function killRecorded(
  records: ReadonlyArray<RecordedProcess | number>,
  options: { graceMs?: number } = {},
): Promise<KillRecordedResult> {
  const graceMs = options.graceMs ?? 5000;
  const result: KillRecordedResult = { killed: [], gone: [], skipped: [] };
  await Promise.all(
    records.map(async (entry) => {
      const record = typeof entry === 'number' ? { pid: entry, pgid: entry } : entry;
      const leader = readProcStat(record.pgid);
      if (leader !== undefined && leader.pgid !== record.pgid) {
        // A process with the leader's pid exists but leads another group: the pid was recycled
        // after our group died (the kernel never hands out a pid still in use as a pgid).
        result.skipped.push(record.pgid);
        return;
      }
      if (
        leader !== undefined &&
        record.startTime !== undefined &&
        record.pid === record.pgid &&
        leader.startTime !== record.startTime
      ) {
        result.skipped.push(record.pgid);
        return;
      }
      if (!isGroupAlive(record.pgid)) {
        result.gone.push(record.pgid);
        return;
      }
      await terminateGroup(record.pgid, graceMs);
      result.killed.push(record.pgid);
    }),
  );
  return result;
}
