import { buckets, inWindow, median, percentile, share, WEEK_MS, type Window } from './stats.ts';

/**
 * Access requests as "tickets we no longer need": how many were asked for each week, how many the
 * policy approved at once, how long a person took to decide the rest, and the grants that expired
 * without ever being used (access asked for and not needed). Pure; times in epoch milliseconds.
 */

export interface AccessFact {
  id: string;
  requester: string;
  team: string | null;
  createdAt: number;
  /** approved, denied, pending, expired, revoked, … as stored; only `decidedAt` and `approved` matter here. */
  approved: boolean;
  autoApproved: boolean;
  decidedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  /** The first time the grant was used to read a secret; null if never. */
  firstUsedAt: number | null;
}

export interface AccessFigures {
  requests: { total: number; autoApproved: number; autoApprovedShare: number | null; pending: number };
  weeks: { week: string; requests: number; autoApproved: number }[];
  /** From request to a person's decision (auto-approved requests are decided at once and left out). */
  decision: { count: number; medianSeconds: number | null; p90Seconds: number | null };
  /** Approved grants that ran out in the window and were never used. */
  expiredUnused: { count: number; ids: string[] };
}

export function computeAccess(facts: readonly AccessFact[], w: Window): AccessFigures {
  const weeks = buckets(w, WEEK_MS);
  const weekRows = Array.from({ length: weeks.count }, (_, i) => ({
    week: new Date(w.from + i * WEEK_MS).toISOString().slice(0, 10),
    requests: 0,
    autoApproved: 0,
  }));
  let total = 0;
  let auto = 0;
  let pending = 0;
  const decisions: number[] = [];
  const unused: string[] = [];
  for (const a of facts) {
    if (inWindow(a.createdAt, w)) {
      total++;
      const row = weekRows[weeks.bucketOf(a.createdAt)]!;
      row.requests++;
      if (a.autoApproved) {
        auto++;
        row.autoApproved++;
      } else if (a.decidedAt !== null && a.decidedAt < w.to) decisions.push((a.decidedAt - a.createdAt) / 1000);
      else pending++;
    }
    const ranOut = a.expiresAt !== null && (a.revokedAt === null || a.revokedAt >= a.expiresAt);
    if (a.approved && ranOut && inWindow(a.expiresAt, w) && (a.firstUsedAt === null || a.firstUsedAt >= a.expiresAt!))
      unused.push(a.id);
  }
  return {
    requests: { total, autoApproved: auto, autoApprovedShare: share(auto, total), pending },
    weeks: weekRows,
    decision: { count: decisions.length, medianSeconds: median(decisions), p90Seconds: percentile(decisions, 90) },
    expiredUnused: { count: unused.length, ids: unused },
  };
}
