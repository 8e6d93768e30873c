import type { Window } from './stats.ts';

/**
 * Cost allocation in OpenCost's allocation shape: measured usage (replica CPU and memory,
 * database size, Redis memory — integrated over time by the sampler) priced by the cost model in
 * the config, summed per team, service, environment or namespace. Pure.
 *
 * `__unallocated__` holds usage that has no value for the aggregate (an environment without a
 * team); `__idle__` is the capacity the config declares that nothing used (only with a capacity).
 */

export interface CostModel {
  /** Price of one CPU core for one hour. */
  cpuCoreHour: number;
  /** Price of one GiB of memory for one hour. */
  memoryGiBHour: number;
  /** Price of one GB (10^9 bytes) of database for a 30-day month. */
  databaseGBMonth: number;
  /** Price of one GB (10^9 bytes) of Redis memory for a 30-day month. */
  redisGBMonth: number;
}

/** The machine's capacity, for __idle__: cores and memory bytes available to workloads. */
export interface Capacity {
  cpuCores: number;
  memoryBytes: number;
}

/** Usage of one service in one environment over part of the window, integrated over time. */
export interface UsageFact {
  team: string | null;
  service: string | null;
  env: string;
  namespace: string;
  /** Minutes of the window this usage covers (sampled minutes). */
  minutes: number;
  cpuCoreSeconds: number;
  /** Memory × time: bytes × seconds. */
  ramByteSeconds: number;
  databaseByteSeconds: number;
  redisByteSeconds: number;
}

export type CostAggregate = 'team' | 'service' | 'env' | 'namespace';

export interface Allocation {
  name: string;
  window: { start: string; end: string };
  minutes: number;
  cpuCoreHours: number;
  cpuCost: number;
  ramByteHours: number;
  ramCost: number;
  /** Storage: the databases and Redis memory of the environment. */
  pvCost: number;
  totalCost: number;
}

const GIB = 2 ** 30;
const GB = 1e9;
const MONTH_SECONDS = 30 * 86_400;

export const UNALLOCATED = '__unallocated__';
export const IDLE = '__idle__';

export function allocate(
  facts: readonly UsageFact[],
  model: CostModel,
  w: Window,
  aggregate: CostAggregate,
  capacity?: Capacity,
): Allocation[] {
  const groups = new Map<string, Omit<Allocation, 'name' | 'window'>>();
  const window = { start: new Date(w.from).toISOString(), end: new Date(w.to).toISOString() };
  let usedCpu = 0;
  let usedRam = 0;
  for (const f of facts) {
    const name = f[aggregate] ?? UNALLOCATED;
    const g = groups.get(name) ?? empty();
    const cpuCoreHours = f.cpuCoreSeconds / 3600;
    const ramByteHours = f.ramByteSeconds / 3600;
    g.minutes = Math.max(g.minutes, f.minutes);
    g.cpuCoreHours += cpuCoreHours;
    g.cpuCost += cpuCoreHours * model.cpuCoreHour;
    g.ramByteHours += ramByteHours;
    g.ramCost += (ramByteHours / GIB) * model.memoryGiBHour;
    g.pvCost +=
      (f.databaseByteSeconds / GB / MONTH_SECONDS) * model.databaseGBMonth +
      (f.redisByteSeconds / GB / MONTH_SECONDS) * model.redisGBMonth;
    groups.set(name, g);
    usedCpu += cpuCoreHours;
    usedRam += ramByteHours;
  }
  if (capacity) {
    const hours = (w.to - w.from) / 3_600_000;
    const idleCpu = Math.max(0, capacity.cpuCores * hours - usedCpu);
    const idleRam = Math.max(0, capacity.memoryBytes * hours - usedRam);
    groups.set(IDLE, {
      minutes: (w.to - w.from) / 60_000,
      cpuCoreHours: idleCpu,
      cpuCost: idleCpu * model.cpuCoreHour,
      ramByteHours: idleRam,
      ramCost: (idleRam / GIB) * model.memoryGiBHour,
      pvCost: 0,
      totalCost: 0, // summed below like every row
    });
  }
  return [...groups]
    .map(([name, g]) => round({ name, window, ...g, totalCost: g.cpuCost + g.ramCost + g.pvCost }))
    .sort((a, b) => b.totalCost - a.totalCost || a.name.localeCompare(b.name));
}

function empty(): Omit<Allocation, 'name' | 'window'> {
  return { minutes: 0, cpuCoreHours: 0, cpuCost: 0, ramByteHours: 0, ramCost: 0, pvCost: 0, totalCost: 0 };
}

/** Costs to 6 decimal places (fractions of a cent add up over many rows), hours to 6 as well. */
function round(a: Allocation): Allocation {
  const r = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    ...a,
    cpuCoreHours: r(a.cpuCoreHours),
    cpuCost: r(a.cpuCost),
    ramByteHours: Math.round(a.ramByteHours),
    ramCost: r(a.ramCost),
    pvCost: r(a.pvCost),
    totalCost: r(a.totalCost),
  };
}
