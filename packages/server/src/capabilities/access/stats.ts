import type { AccessStats, AccessStatus } from '@idp/contracts';

export interface StatsInput {
  status: AccessStatus;
  autoApproved: boolean;
  createdAt: string;
  decidedAt: string | null;
}

/** Nearest-rank percentile (p in 0…1) of sorted values: always a value that occurred. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1]!;
}

function summary(seconds: number[]): AccessStats['decisionTime'] {
  const sorted = [...seconds].sort((a, b) => a - b);
  return { count: sorted.length, medianSeconds: percentile(sorted, 0.5), p90Seconds: percentile(sorted, 0.9) };
}

/** The platform figures: outcomes, the auto-approved share of decided requests, time to decision. */
export function accessStats(rows: readonly StatsInput[], since: string | null): AccessStats {
  const byOutcome: Record<AccessStatus, number> = { pending: 0, approved: 0, denied: 0, expired: 0, revoked: 0 };
  const all: number[] = [];
  const manual: number[] = [];
  let autoApproved = 0;
  let decided = 0;
  for (const r of rows) {
    byOutcome[r.status] += 1;
    if (r.autoApproved) autoApproved += 1;
    if (!r.decidedAt) continue;
    decided += 1;
    const seconds = Math.max(0, (Date.parse(r.decidedAt) - Date.parse(r.createdAt)) / 1000);
    all.push(seconds);
    if (!r.autoApproved) manual.push(seconds);
  }
  return {
    since,
    total: rows.length,
    byOutcome,
    autoApproved,
    autoApprovedShare: decided ? autoApproved / decided : null,
    decisionTime: summary(all),
    manualDecisionTime: summary(manual),
  };
}
