/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so `helthcheck`,
 * `replcias` and `stratgey` each count as one or two edits.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

// Case and separators are the commonest slips (minRequests, Min-Requests for min_requests).
function fold(text: string): string {
  return text.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The candidate the user most likely meant: within two edits, or one being a prefix of the other
 * (`health` → `healthcheck`) when the shared part is at least 3 characters. Undefined when nothing
 * is close, because a wrong suggestion is worse than none.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const wanted = fold(input);
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const folded = fold(candidate);
    let score = editDistance(wanted, folded);
    const shorter = Math.min(wanted.length, folded.length);
    if (score > 2 && shorter >= 3 && (folded.startsWith(wanted) || wanted.startsWith(folded))) score = 2.5;
    if (score <= 2.5 && (!best || score < best.score)) best = { candidate, score };
  }
  return best?.candidate;
}
