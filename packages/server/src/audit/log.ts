import { createHash, createHmac } from 'node:crypto';
import { type Kysely, type Transaction } from 'kysely';
import type { AuditQuery, AuditRecord, AuditVerification } from '@idp/contracts';
import { canonicalJson, parseDuration } from '@idp/core';
import type { Clock } from '../clock.ts';
import type { Database, Dialect } from '../store/index.ts';
import { headMacOf, keyCheckOf, sameHex } from './key.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  decision: 'allow' | 'deny' | 'error';
  policyIds?: string[];
  requestId?: string | null;
  /** Never a secret value: this is stored and shown in plaintext. */
  details?: Record<string, unknown>;
}

const GENESIS = '0'.repeat(64);

/** The chain before the audit key (and of stores opened without one): plain SHA-256. */
function recordHash(prevHash: string, r: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(r)).digest('hex');
}

/** The keyed chain: HMAC-SHA256 under the audit key over the same input, domain-separated. */
function recordMac(key: Buffer, prevHash: string, r: Omit<AuditRecord, 'hash'>): string {
  return createHmac('sha256', key)
    .update('idp/audit/record/v1\n')
    .update(prevHash)
    .update('\n')
    .update(canonicalJson(r))
    .digest('hex');
}

/** The audit key as AuditLog needs it (see key.ts for where it comes from). */
export interface ChainKey {
  key: Buffer;
  keyId: string;
}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Append-only, hash-chained audit log. Each record's hash covers the previous record's hash,
 * and audit_head keeps the last one, so a changed, removed, inserted or truncated record breaks
 * `verify()`. Appends serialize on the head row (row lock on PostgreSQL; SQLite has one writer).
 *
 * With a key (the control plane always has one), records from audit_head.keyed_from on are
 * HMAC-SHA256 under it and the head carries a MAC over (keyed_from, seq, hash): rewriting a
 * record and re-hashing the chain needs the key, which is not in the store. Records before
 * keyed_from (a store from before the upgrade) stay plain SHA-256; the first keyed record's MAC
 * covers the last plain hash, so re-hashing the plain part is detected too.
 * docs/adr/0006-audit-chain-keyed.md.
 */
export class AuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly dialect: Dialect,
    private readonly chainKey: ChainKey | null = null,
  ) {}

  /** Appends within the caller's transaction when given one, so the change and its record commit together. */
  async append(entry: AuditEntry, trx?: Transaction<Database>): Promise<AuditRecord> {
    if (trx) return this.appendIn(trx, entry);
    return this.db.transaction().execute((t) => this.appendIn(t, entry));
  }

  private async appendIn(trx: Executor, entry: AuditEntry): Promise<AuditRecord> {
    const headQuery = trx.selectFrom('audit_head').selectAll().where('id', '=', 1);
    // SQLite has no FOR UPDATE; its single writer gives the same guarantee.
    const head = await (this.dialect === 'postgres' ? headQuery.forUpdate() : headQuery).executeTakeFirst();
    if (!head) throw new Error('audit_head row is missing: the store was not migrated');
    if (head.key_check !== null && !this.chainKey)
      throw new Error('the audit chain is keyed: appending needs the audit key');
    if (this.chainKey && head.keyed_from === null)
      throw new Error('the audit chain is not keyed yet: unlockAuditKey runs first');
    const body: Omit<AuditRecord, 'hash'> = {
      seq: Number(head.seq) + 1,
      time: this.clock.now().toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      decision: entry.decision,
      policyIds: entry.policyIds ?? [],
      requestId: entry.requestId ?? null,
      details: entry.details ?? {},
    };
    const keyedFrom = head.keyed_from === null ? null : Number(head.keyed_from);
    const keyed = this.chainKey !== null && keyedFrom !== null && body.seq >= keyedFrom;
    const hash = keyed ? recordMac(this.chainKey!.key, head.hash, body) : recordHash(head.hash, body);
    const mac = keyed ? headMacOf(this.chainKey!.key, keyedFrom!, body.seq, hash) : head.mac;
    await trx
      .insertInto('audit_log')
      .values({
        seq: body.seq,
        time: body.time,
        actor: body.actor,
        action: body.action,
        target: body.target,
        decision: body.decision,
        policy_ids: JSON.stringify(body.policyIds),
        request_id: body.requestId,
        details: JSON.stringify(body.details),
        prev_hash: head.hash,
        hash,
      })
      .execute();
    await trx.updateTable('audit_head').set({ seq: body.seq, hash, mac }).where('id', '=', 1).execute();
    return { ...body, hash };
  }

  async list(q: AuditQuery & { actors?: string[] }): Promise<AuditRecord[]> {
    let query = this.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(q.limit ?? 100);
    if (q.actors && q.actors.length > 0) query = query.where('actor', 'in', q.actors);
    if (q.action) {
      query = q.action.endsWith('*')
        ? query.where('action', 'like', `${q.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)
        : query.where('action', '=', q.action);
    }
    if (q.decision) query = query.where('decision', '=', q.decision);
    if (q.since) {
      const since = new Date(this.clock.now().getTime() - parseDuration(q.since, 'since') * 1000).toISOString();
      query = query.where('time', '>=', since);
    }
    const rows = await query.execute();
    return rows.map(toRecord);
  }

  /**
   * Walks the whole chain in pages; reports the first record that does not verify, then the
   * head (its seq and hash, and with a key its MAC, which also covers keyed_from).
   */
  async verify(): Promise<AuditVerification> {
    const head = await this.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    const key = this.chainKey;
    const keyedFrom = head?.keyed_from === null || head?.keyed_from === undefined ? null : Number(head.keyed_from);
    const keying = {
      keyed: key !== null && keyedFrom !== null,
      keyedFromSeq: key !== null ? keyedFrom : null,
      keyId: key?.keyId ?? null,
    };
    let prev = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    const bad = (seq: number | null, problem: string): AuditVerification => ({
      ok: false,
      records: count,
      headSeq: head ? Number(head.seq) : null,
      firstBadSeq: seq,
      problem,
      ...keying,
    });
    if (key && head) {
      // The control plane writes the marker before its first append, so a keyed log without one
      // had it removed: passing a re-hashed chain off as one from before the upgrade.
      if (head.key_check === null || keyedFrom === null)
        return bad(
          1,
          'the chain head has no keyed-chain marker (audit_head.keyed_from / key_check were removed): every record would read as unkeyed',
        );
      if (!sameHex(head.key_check, keyCheckOf(key.key)))
        return bad(null, `the chain is keyed with another audit key than this control plane's (${key.keyId})`);
    }
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>=', expectedSeq)
        .orderBy('seq', 'asc')
        .limit(1000)
        .execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const rec = toRecord(row);
        if (rec.seq !== expectedSeq)
          return bad(expectedSeq, `record ${expectedSeq} is missing (next present is ${rec.seq})`);
        const firstKeyed = key !== null && rec.seq === keyedFrom && rec.seq > 1;
        if (row.prev_hash !== prev) {
          return bad(
            rec.seq,
            firstKeyed
              ? `record ${rec.seq}, the first keyed record, does not follow record ${rec.seq - 1}: the unkeyed records before it were changed or re-hashed`
              : `record ${rec.seq} does not follow record ${rec.seq - 1} (its prev_hash differs)`,
          );
        }
        const { hash, ...body } = rec;
        if (key !== null && keyedFrom !== null && rec.seq >= keyedFrom) {
          if (recordMac(key.key, prev, body) !== hash) {
            if (recordHash(prev, body) === hash) {
              return bad(
                rec.seq,
                `record ${rec.seq} was re-hashed without the audit key (plain SHA-256 where the chain is keyed from record ${keyedFrom}): it or a later record was changed and the chain recomputed from here`,
              );
            }
            return bad(
              rec.seq,
              firstKeyed
                ? `record ${rec.seq}, the first keyed record, does not verify (MAC mismatch): it was changed, or the unkeyed records before it were changed and re-hashed`
                : `record ${rec.seq} was changed after it was written (MAC mismatch: not written with this control plane's audit key)`,
            );
          }
        } else if (recordHash(prev, body) !== hash) {
          return bad(rec.seq, `record ${rec.seq} was changed after it was written (hash mismatch)`);
        }
        prev = hash;
        expectedSeq += 1;
        count += 1;
      }
    }
    const headSeq = head ? Number(head.seq) : 0;
    if (headSeq !== count || (head && head.hash !== prev)) {
      return bad(
        count + 1,
        `the log ends at record ${count} but the chain head says ${headSeq}: records were removed from the end`,
      );
    }
    if (key && head && keyedFrom !== null && !sameHex(head.mac, headMacOf(key.key, keyedFrom, headSeq, head.hash))) {
      // Every record verified against the keyed_from the head claims, so that claim is what was
      // edited (to pass re-hashed records off as unkeyed), or the tail was cut and the head reset.
      return bad(
        Math.min(keyedFrom, headSeq + 1),
        `the chain head does not verify (MAC mismatch): its keyed-from marker (record ${keyedFrom}) or its last record was rewritten, e.g. to pass re-hashed records off as unkeyed or to cut records from the end`,
      );
    }
    return { ok: true, records: count, headSeq: head ? headSeq : null, firstBadSeq: null, problem: null, ...keying };
  }
}

function toRecord(row: Database['audit_log']): AuditRecord {
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
    hash: row.hash,
  };
}
