import { buckets, inWindow, median, percentile, share, WEEK_MS, type Window } from './stats.ts';

/**
 * Environment usage over a window, from idp's environment records: what is up now, what was made
 * and ended each week (reaped by its TTL or deleted by hand), environment-hours per team, and the
 * provisioning time — the "days → minutes" figure. Pure; times in epoch milliseconds.
 */

export interface EnvironmentFact {
  name: string;
  team: string | null;
  /** personal: made by env:create; preview: made for a pull request. Base environments are not facts. */
  kind: 'personal' | 'preview';
  createdAt: number;
  /** When it became ready; null if it never did (failed, or still creating). */
  readyAt: number | null;
  /** When it was deleted; null while it exists. */
  deletedAt: number | null;
  /** Why it ended: its TTL ran out (reaped), or someone deleted it (hand; a closed pull request counts here). */
  endedBy: 'ttl' | 'hand' | null;
}

export interface EnvironmentWeek {
  /** The week's first day (ISO date). */
  week: string;
  created: number;
  deleted: number;
  expired: number;
}

export interface EnvironmentFigures {
  /** Ready at the window's end and not deleted. */
  activeNow: number;
  created: { total: number; personal: number; preview: number };
  ended: { total: number; expired: number; deleted: number; expiredShare: number | null };
  weeks: EnvironmentWeek[];
  /** Hours each team's environments existed inside the window, largest first. */
  hoursByTeam: { team: string; hours: number }[];
  provisioning: { count: number; medianSeconds: number | null; p90Seconds: number | null; failed: number };
}

export function computeEnvironments(facts: readonly EnvironmentFact[], w: Window): EnvironmentFigures {
  const weeks = buckets(w, WEEK_MS);
  const weekRows: EnvironmentWeek[] = Array.from({ length: weeks.count }, (_, i) => ({
    week: new Date(w.from + i * WEEK_MS).toISOString().slice(0, 10),
    created: 0,
    deleted: 0,
    expired: 0,
  }));
  const created = { total: 0, personal: 0, preview: 0 };
  const ended = { total: 0, expired: 0, deleted: 0 };
  const hours = new Map<string, number>();
  const provisioning: number[] = [];
  let failed = 0;
  let activeNow = 0;

  for (const e of facts) {
    if (e.readyAt !== null && e.readyAt < w.to && (e.deletedAt === null || e.deletedAt >= w.to)) activeNow++;
    if (inWindow(e.createdAt, w)) {
      created.total++;
      created[e.kind]++;
      weekRows[weeks.bucketOf(e.createdAt)]!.created++;
      if (e.readyAt !== null) provisioning.push((e.readyAt - e.createdAt) / 1000);
      else if (e.deletedAt !== null) failed++;
    }
    if (inWindow(e.deletedAt, w)) {
      ended.total++;
      const row = weekRows[weeks.bucketOf(e.deletedAt)]!;
      if (e.endedBy === 'ttl') {
        ended.expired++;
        row.expired++;
      } else {
        ended.deleted++;
        row.deleted++;
      }
    }
    const start = Math.max(e.createdAt, w.from);
    const end = Math.min(e.deletedAt ?? w.to, w.to);
    if (end > start) {
      const team = e.team ?? '(no team)';
      hours.set(team, (hours.get(team) ?? 0) + (end - start) / 3_600_000);
    }
  }

  return {
    activeNow,
    created,
    ended: { ...ended, expiredShare: share(ended.expired, ended.total) },
    weeks: weekRows,
    hoursByTeam: [...hours]
      .map(([team, h]) => ({ team, hours: Math.round(h * 100) / 100 }))
      .sort((a, b) => b.hours - a.hours || a.team.localeCompare(b.team)),
    provisioning: {
      count: provisioning.length,
      medianSeconds: median(provisioning),
      p90Seconds: percentile(provisioning, 90),
      failed,
    },
  };
}
