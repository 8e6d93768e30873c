// The replicas' own figures for GET /metrics: whether each one is up, how often it restarted, and
// the CPU time and resident memory of its process group (the shell, the sandbox and the service,
// and whatever the service started), read from Linux's /proc at scrape time.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import type { ReplicaInfo } from '@idp/runtime-local';

/** Clock ticks per second of /proc/<pid>/stat's times (sysconf(_SC_CLK_TCK), 100 on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;
/** Bytes per page of /proc/<pid>/stat's rss (4096 on the platforms idp runs on). */
export const PAGE_BYTES = 4096;

/** The metric names, for dashboards and docs. */
export const REPLICA_METRICS = {
  up: 'idp_replica_up',
  restarts: 'idp_replica_restarts_total',
  cpu: 'idp_replica_cpu_seconds_total',
  memory: 'idp_replica_resident_memory_bytes',
} as const;

export interface GroupUsage {
  /** User + system time of the group's live processes and of the children they have waited for. */
  cpuSeconds: number;
  /** Resident memory of the group's live processes. */
  residentBytes: number;
  processes: number;
}

/** A stat line is a few hundred bytes (the command name is at most 64). */
const STAT_BUFFER = Buffer.alloc(2048);

/** /proc/<pid>/stat as text, or undefined when the process is gone. One read into a reused buffer (no stat call, no allocation). */
function readStat(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, STAT_BUFFER, 0, STAT_BUFFER.length, 0);
    return STAT_BUFFER.toString('latin1', 0, n);
  } catch {
    return undefined; // exited between the open and the read
  } finally {
    closeSync(fd);
  }
}

/**
 * One pass over /proc: the usage of every process group in `pgids`. Each /proc/<pid>/stat is one
 * small read; a process that exits meanwhile is skipped, and without /proc the answer is empty.
 */
export function groupUsage(pgids: ReadonlySet<number>, proc = '/proc'): Map<number, GroupUsage> {
  const out = new Map<number, GroupUsage>();
  if (pgids.size === 0) return out;
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const text = readStat(`${proc}/${entry}/stat`); // undefined: gone since the directory was read
    const stat = text === undefined ? undefined : parseStat(text);
    // A zombie is a process that has ended (its parent, often PID 1, has not reaped it yet).
    if (stat === undefined || !pgids.has(stat.pgid) || stat.state === 'Z' || stat.state === 'X') continue;
    const usage = out.get(stat.pgid) ?? { cpuSeconds: 0, residentBytes: 0, processes: 0 };
    usage.cpuSeconds += stat.ticks / CLOCK_TICKS_PER_SECOND;
    usage.residentBytes += stat.rssPages * PAGE_BYTES;
    usage.processes++;
    out.set(stat.pgid, usage);
  }
  return out;
}

/** state, pgrp, utime+stime+cutime+cstime and rss of one /proc/<pid>/stat line; undefined when malformed. */
export function parseStat(text: string): { state: string; pgid: number; ticks: number; rssPages: number } | undefined {
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so count from the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field n is f[n - 3].
  const pgid = Number(f[2]);
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const rssPages = Number(f[21]);
  if (!Number.isInteger(pgid) || !Number.isFinite(ticks) || !Number.isFinite(rssPages)) return undefined;
  return { state: f[0] ?? '', pgid, ticks, rssPages };
}

/** The replicas of one release with the label pairs idp stamps on its series (team … release), already rendered. */
export interface StampedRelease {
  stamp: string;
  replicas: ReplicaInfo[];
}

/**
 * The four families in Prometheus's text format, one series per replica (replica="1" is the
 * first). A replica that is not running is up 0 and has no CPU or memory series.
 */
export function replicaMetricsText(releases: readonly StampedRelease[], proc = '/proc'): string {
  const pgids = new Set<number>();
  for (const r of releases) for (const info of r.replicas) if (info.pgid !== null) pgids.add(info.pgid);
  const usage = groupUsage(pgids, proc);
  const up = [
    `# HELP ${REPLICA_METRICS.up} 1 while the replica is ready (passes its readiness probe and takes traffic), 0 while it starts, has crashed or is stopped.`,
    `# TYPE ${REPLICA_METRICS.up} gauge`,
  ];
  const restarts = [
    `# HELP ${REPLICA_METRICS.restarts} Times the supervisor restarted the replica after it exited.`,
    `# TYPE ${REPLICA_METRICS.restarts} counter`,
  ];
  const cpu = [
    `# HELP ${REPLICA_METRICS.cpu} CPU time (user and system) of the replica's processes since it started.`,
    `# TYPE ${REPLICA_METRICS.cpu} counter`,
  ];
  const memory = [
    `# HELP ${REPLICA_METRICS.memory} Resident memory of the replica's processes.`,
    `# TYPE ${REPLICA_METRICS.memory} gauge`,
  ];
  for (const r of releases) {
    for (const info of r.replicas) {
      const labels = `${r.stamp},replica="${info.index + 1}"`;
      up.push(`${REPLICA_METRICS.up}{${labels}} ${info.status === 'ready' ? 1 : 0}`);
      restarts.push(`${REPLICA_METRICS.restarts}{${labels}} ${info.restarts}`);
      const used = info.pgid === null ? undefined : usage.get(info.pgid);
      if (used === undefined) continue;
      cpu.push(`${REPLICA_METRICS.cpu}{${labels}} ${Math.round(used.cpuSeconds * 100) / 100}`);
      memory.push(`${REPLICA_METRICS.memory}{${labels}} ${used.residentBytes}`);
    }
  }
  return `${[up, restarts, cpu, memory].map((family) => family.join('\n')).join('\n\n')}\n`;
}
