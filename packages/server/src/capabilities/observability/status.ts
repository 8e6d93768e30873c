// GET /api/observability/status's answer: which Prometheus, how many targets, and the last scrape health.
import type { ObservabilityStatus } from '@idp/contracts';
import type { PrometheusService } from './prometheus.ts';
import type { ScrapeTargets } from './scrape-targets.ts';

interface ActiveTarget {
  labels?: Record<string, string>;
  scrapePool?: string;
  health?: string;
  lastError?: string;
}

const HINT_MISSING =
  'apt-get install -y prometheus and restart idp, or set observability.prometheus.url to an existing Prometheus';

/** What a caller sees; `admin` adds the URL and scrape errors (hosts and ports of the platform). */
export async function observabilityStatus(
  prometheus: PrometheusService,
  targets: ScrapeTargets,
  admin: boolean,
): Promise<ObservabilityStatus> {
  const status = prometheus.status();
  const hint =
    status.mode === 'missing'
      ? HINT_MISSING
      : status.mode === 'disabled'
        ? 'Set observability.prometheus.enabled: true (the default) in idp.config.yaml and restart idp'
        : status.problem
          ? 'Fix the problem named, then restart idp; the managed Prometheus logs to <data-dir>/prometheus/prometheus.log'
          : null;
  const active = await activeTargets(prometheus.prometheusUrl);
  const jobs = new Map<string, { job: string; up: number; down: number; unknown: number; lastError: string | null }>();
  for (const target of active ?? []) {
    const job = target.labels?.job ?? target.scrapePool ?? 'unknown';
    const entry = jobs.get(job) ?? { job, up: 0, down: 0, unknown: 0, lastError: null };
    if (target.health === 'up') entry.up++;
    else if (target.health === 'down') entry.down++;
    else entry.unknown++;
    if (target.lastError) entry.lastError = target.lastError;
    jobs.set(job, entry);
  }
  return {
    prometheus: {
      mode: status.mode,
      ...(admin ? { url: status.url } : {}),
      ready: status.ready,
      restarts: status.restarts,
      problem: status.problem,
      hint,
    },
    targets: targets.count(),
    scrape: {
      reachable: active !== null,
      jobs: [...jobs.values()]
        .sort((a, b) => a.job.localeCompare(b.job))
        .map(({ lastError, ...counts }) => (admin ? { ...counts, lastError } : counts)),
    },
  };
}

/** Prometheus's active targets, or null when it does not answer. */
async function activeTargets(url: string | null): Promise<ActiveTarget[] | null> {
  if (!url) return null;
  try {
    const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const body = (await res.json()) as { data?: { activeTargets?: ActiveTarget[] } };
    return body.data?.activeTargets ?? [];
  } catch {
    return null;
  }
}
