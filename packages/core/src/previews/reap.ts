/**
 * Which previews the reaper removes: those past their expiry, then, per repository, the oldest
 * open ones beyond its cap. Pure: the time and the previews come in; the note says why.
 */

export interface ReapCandidate {
  repo: string;
  number: number;
  /** ISO time the preview was made. */
  createdAt: string;
  /** ISO time it expires, or null for never. */
  expiresAt: string | null;
}

export interface Reaped {
  repo: string;
  number: number;
  note: string;
}

/**
 * `open`: the previews that hold an environment now. `caps`: each repository's maximum of open
 * previews (a repository absent from caps has no cap). Oldest first in the answer.
 */
export function selectReaped(open: readonly ReapCandidate[], now: number, caps: ReadonlyMap<string, number>): Reaped[] {
  const oldestFirst = [...open].sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.number - b.number,
  );
  const reaped: Reaped[] = [];
  const kept = new Map<string, ReapCandidate[]>();
  for (const p of oldestFirst) {
    if (p.expiresAt !== null && Date.parse(p.expiresAt) <= now) {
      reaped.push({ repo: p.repo, number: p.number, note: `reaped: its time to live ended at ${p.expiresAt}` });
      continue;
    }
    kept.set(p.repo, [...(kept.get(p.repo) ?? []), p]);
  }
  for (const [repo, list] of kept) {
    const cap = caps.get(repo);
    if (cap === undefined || list.length <= cap) continue;
    for (const p of list.slice(0, list.length - cap))
      reaped.push({
        repo,
        number: p.number,
        note: `reaped: ${repo} had ${list.length} open previews, over its cap of ${cap}; the oldest go first`,
      });
  }
  return reaped;
}
