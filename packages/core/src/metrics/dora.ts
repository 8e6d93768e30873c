import { buckets, DAY_MS, inWindow, median, MONTH_MS, percentile, share, WEEK_MS, type Window } from './stats.ts';

/**
 * DORA's four keys computed exactly from idp's own deployment records — idp runs the deploys and
 * the rollbacks, so nothing is estimated from webhooks. Pure: the caller reads the records and the
 * clock; every figure here is a function of them.
 *
 * Definitions (the README's "Platform metrics" has a worked example):
 * - A deployment *counts* once it finished inside the window and reached users (`servedTraffic`):
 *   a release whose build failed, or that failed its health checks before any traffic moved,
 *   changed nothing in production and is listed apart (`notServed`), never in a rate.
 * - **Deployment frequency**: deploys (not rollbacks) that ended healthy, per week of the window;
 *   the band as Four Keys gives it: daily when the median week has deploys on ≥ 3 distinct days,
 *   weekly when the median week has ≥ 1 deploy, monthly when the median 30 days have ≥ 1, yearly
 *   when there was any, none otherwise.
 * - **Lead time for changes**: commit time → healthy, for healthy production-tier deploys whose
 *   commit time is known; median and p90 (nearest rank).
 * - **Change failure rate**: over every production-tier deploy that reached users, the share that
 *   ended rolled_back, aborted or failed, or ended healthy and was followed, as the next deployment
 *   of that service in that environment, by a rollback within `failureWindowMs` of going healthy.
 * - **Time to restore**: for each such failure, from the failing deploy's start (when its release
 *   began to take traffic) to the next healthy state of that service in that environment: the
 *   failed rollout's own end when it returned traffic to the stable release (rolled_back, aborted),
 *   else the next deployment that ended healthy. Failures not yet restored are counted as `open`.
 */

export type DeployStatus = 'pending' | 'progressing' | 'paused' | 'healthy' | 'rolled_back' | 'aborted' | 'failed';

/** One deployment as the metrics read it. Times in epoch milliseconds. */
export interface DeployFact {
  id: string;
  service: string;
  team: string | null;
  env: string;
  tier: string;
  kind: 'deploy' | 'rollback';
  status: DeployStatus;
  createdAt: number;
  finishedAt: number | null;
  /** When the deployed commit was made; null when the release came from no known commit. */
  commitAt: number | null;
  /** False when it ended before any user traffic reached the release (failed build, failed first health check). */
  servedTraffic: boolean;
}

export interface DoraOptions extends Window {
  /** Tiers whose deploys the lead time, failure rate and time to restore are about. */
  productionTiers: readonly string[];
  /** A rollback this soon after a deploy went healthy marks that deploy as a failed change. */
  failureWindowMs: number;
}

export type FrequencyBand = 'daily' | 'weekly' | 'monthly' | 'yearly' | 'none';

export interface DoraFigures {
  deploymentFrequency: {
    /** Healthy deploys that finished in the window. */
    count: number;
    perWeek: number;
    medianPerWeek: number;
    medianDaysPerWeek: number;
    band: FrequencyBand;
  };
  leadTime: { count: number; medianSeconds: number | null; p90Seconds: number | null };
  changeFailure: {
    failed: number;
    total: number;
    /** failed ÷ total, null when there was no production deploy. */
    rate: number | null;
    /** The failed deploys' ids, for people to look at. */
    failedIds: string[];
  };
  timeToRestore: { count: number; medianSeconds: number | null; p90Seconds: number | null; open: number };
  /** Deploys that ended before users saw them (not counted in any rate). */
  notServed: number;
}

const FAILED: ReadonlySet<DeployStatus> = new Set(['rolled_back', 'aborted', 'failed']);
/** Statuses in which a rollout returned traffic to the stable release by itself. */
const RESTORED_BY_ITSELF: ReadonlySet<DeployStatus> = new Set(['rolled_back', 'aborted']);

export function computeDora(facts: readonly DeployFact[], o: DoraOptions): DoraFigures {
  const finished = facts.filter((f) => inWindow(f.finishedAt, o));
  const notServed = finished.filter((f) => f.kind === 'deploy' && !f.servedTraffic).length;
  const healthyDeploys = finished.filter((f) => f.kind === 'deploy' && f.status === 'healthy' && f.servedTraffic);
  const production = new Set(o.productionTiers);

  // Later deployments of the same service and environment, in order, to find what followed each one.
  const byTarget = new Map<string, DeployFact[]>();
  for (const f of [...facts].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))) {
    const key = `${f.env}\u0000${f.service}`;
    const list = byTarget.get(key);
    if (list) list.push(f);
    else byTarget.set(key, [f]);
  }
  const following = (f: DeployFact): DeployFact[] => {
    const list = byTarget.get(`${f.env}\u0000${f.service}`) ?? [];
    return list.slice(list.indexOf(f) + 1);
  };

  const prodDeploys = finished.filter((f) => f.kind === 'deploy' && f.servedTraffic && production.has(f.tier));
  const failures: DeployFact[] = [];
  const leadTimes: number[] = [];
  for (const d of prodDeploys) {
    if (FAILED.has(d.status)) {
      failures.push(d);
      continue;
    }
    if (d.status !== 'healthy') continue;
    if (d.commitAt !== null) leadTimes.push((d.finishedAt! - d.commitAt) / 1000);
    const next = following(d)[0];
    if (next?.kind === 'rollback' && next.createdAt - d.finishedAt! <= o.failureWindowMs) failures.push(d);
  }
  const total = prodDeploys.filter((d) => d.status === 'healthy' || FAILED.has(d.status)).length;

  const restoreTimes: number[] = [];
  let open = 0;
  for (const f of failures) {
    let restoredAt: number | null = null;
    if (RESTORED_BY_ITSELF.has(f.status)) restoredAt = f.finishedAt;
    else {
      const fix = following(f).find((n) => n.status === 'healthy' && n.finishedAt !== null);
      restoredAt = fix?.finishedAt ?? null;
    }
    if (restoredAt === null || restoredAt > o.to) open++;
    else restoreTimes.push((restoredAt - f.createdAt) / 1000);
  }

  return {
    deploymentFrequency: frequency(healthyDeploys, o),
    leadTime: { count: leadTimes.length, medianSeconds: median(leadTimes), p90Seconds: percentile(leadTimes, 90) },
    changeFailure: {
      failed: failures.length,
      total,
      rate: share(failures.length, total),
      failedIds: failures.map((f) => f.id),
    },
    timeToRestore: {
      count: restoreTimes.length,
      medianSeconds: median(restoreTimes),
      p90Seconds: percentile(restoreTimes, 90),
      open,
    },
    notServed,
  };
}

function frequency(deploys: readonly DeployFact[], w: Window): DoraFigures['deploymentFrequency'] {
  const weeks = buckets(w, WEEK_MS);
  const perWeek = new Array<number>(weeks.count).fill(0);
  const daysPerWeek = Array.from({ length: weeks.count }, () => new Set<number>());
  const months = buckets(w, MONTH_MS);
  const perMonth = new Array<number>(months.count).fill(0);
  for (const d of deploys) {
    const t = d.finishedAt!;
    const week = weeks.bucketOf(t);
    perWeek[week]!++;
    daysPerWeek[week]!.add(Math.floor(t / DAY_MS));
    perMonth[months.bucketOf(t)]!++;
  }
  const medianPerWeek = median(perWeek) ?? 0;
  const medianDaysPerWeek = median(daysPerWeek.map((s) => s.size)) ?? 0;
  const band: FrequencyBand =
    medianDaysPerWeek >= 3
      ? 'daily'
      : medianPerWeek >= 1
        ? 'weekly'
        : (median(perMonth) ?? 0) >= 1
          ? 'monthly'
          : deploys.length > 0
            ? 'yearly'
            : 'none';
  return {
    count: deploys.length,
    perWeek: Math.round((deploys.length / ((w.to - w.from) / WEEK_MS)) * 100) / 100,
    medianPerWeek,
    medianDaysPerWeek,
    band,
  };
}

/** The four keys per group (team, service or tier): the facts split by `key`, each group computed alone. */
export function computeDoraBy(
  facts: readonly DeployFact[],
  o: DoraOptions,
  key: (f: DeployFact) => string | null,
): Map<string, DoraFigures> {
  const groups = new Map<string, DeployFact[]>();
  for (const f of facts) {
    const k = key(f);
    if (k === null) continue;
    const list = groups.get(k);
    if (list) list.push(f);
    else groups.set(k, [f]);
  }
  return new Map([...groups].sort(([a], [b]) => a.localeCompare(b)).map(([k, list]) => [k, computeDora(list, o)]));
}
