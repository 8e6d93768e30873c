import { inWindow, median, percentile, type Window } from './stats.ts';

/**
 * Time to first deploy per new service: from its first appearance (in the catalog, or the golden
 * path task that made it, whichever came first) to its first deploy that ended healthy, in any
 * environment. Services that appeared in the window count; those without a healthy deploy yet are
 * listed as waiting. Pure; times in epoch milliseconds.
 */

export interface NewServiceFact {
  service: string;
  team: string | null;
  /** First seen in the catalog. */
  catalogAt: number | null;
  /** When the golden-path task that made it started, if one did. */
  taskAt: number | null;
  /** Its first deploy that ended healthy; null if none yet. */
  firstHealthyAt: number | null;
}

export interface FirstDeployFigures {
  services: { service: string; team: string | null; from: 'catalog' | 'golden path'; seconds: number | null }[];
  count: number;
  medianSeconds: number | null;
  p90Seconds: number | null;
  waiting: number;
}

export function computeFirstDeploys(facts: readonly NewServiceFact[], w: Window): FirstDeployFigures {
  const services: FirstDeployFigures['services'] = [];
  for (const f of facts) {
    const starts = [f.taskAt, f.catalogAt].filter((t): t is number => t !== null);
    if (starts.length === 0) continue;
    const start = Math.min(...starts);
    if (!inWindow(start, w)) continue;
    const done = f.firstHealthyAt !== null && f.firstHealthyAt >= start && f.firstHealthyAt < w.to;
    services.push({
      service: f.service,
      team: f.team,
      from: f.taskAt !== null && f.taskAt === start ? 'golden path' : 'catalog',
      seconds: done ? (f.firstHealthyAt! - start) / 1000 : null,
    });
  }
  services.sort((a, b) => a.service.localeCompare(b.service));
  const times = services.flatMap((s) => (s.seconds === null ? [] : [s.seconds]));
  return {
    services,
    count: times.length,
    medianSeconds: median(times),
    p90Seconds: percentile(times, 90),
    waiting: services.length - times.length,
  };
}
