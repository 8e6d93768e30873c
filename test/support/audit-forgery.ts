import { createHash, createHmac } from 'node:crypto';

/**
 * What an attacker who can write the state store does to the audit log: recompute the chain
 * after editing a record, the way the code before the keyed chain did (plain SHA-256 over the
 * previous hash and the record's canonical JSON), or with a guessed HMAC key. The algorithm is
 * public (this is open source): only the key is secret.
 */
export interface AuditRow {
  seq: number | string;
  time: string;
  actor: string;
  action: string;
  target: string;
  decision: string;
  policy_ids: string;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export type ChainHash = (prev: string, body: Record<string, unknown>) => string;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value as object)
      .filter((k) => (value as any)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export const plainSha256: ChainHash = (prev, body) =>
  createHash('sha256').update(prev).update('\n').update(canonical(body)).digest('hex');

/** The server's own keyed construction, with a key the attacker made up. */
export const hmacWith =
  (key: Buffer): ChainHash =>
  (prev, body) =>
    createHmac('sha256', key)
      .update('idp/audit/record/v1\n')
      .update(prev)
      .update('\n')
      .update(canonical(body))
      .digest('hex');

function bodyOf(row: AuditRow): Record<string, unknown> {
  return {
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    decision: row.decision,
    policyIds: JSON.parse(row.policy_ids),
    requestId: row.request_id,
    details: JSON.parse(row.details),
  };
}

/**
 * New prev_hash/hash for every row from `fromSeq` to `toSeq` (rows sorted by seq, all of the
 * log), the next row relinked, and the head that goes with them: a consistent chain under `hash`.
 */
export function forgeChain(
  rows: AuditRow[],
  hash: ChainHash,
  fromSeq = 1,
  toSeq = Infinity,
): { updates: { seq: number; prev_hash: string; hash: string }[]; head: { seq: number; hash: string } } {
  const updates: { seq: number; prev_hash: string; hash: string }[] = [];
  let prev = '0'.repeat(64);
  for (const row of rows) {
    if (Number(row.seq) < fromSeq) {
      prev = row.hash;
      continue;
    }
    if (Number(row.seq) > toSeq) {
      // Past the rewritten range: relink the next record and keep its hash (it cannot be recomputed).
      if (Number(row.seq) === toSeq + 1) updates.push({ seq: Number(row.seq), prev_hash: prev, hash: row.hash });
      prev = row.hash;
      continue;
    }
    const h = hash(prev, bodyOf(row));
    updates.push({ seq: Number(row.seq), prev_hash: prev, hash: h });
    prev = h;
  }
  return { updates, head: { seq: rows.length ? Number(rows[rows.length - 1]!.seq) : 0, hash: prev } };
}
