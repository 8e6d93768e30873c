import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@idp/server';
import { AuditLog } from '../../packages/server/src/audit/index.ts';
import { forgeChain, hmacWith, plainSha256, type AuditRow, type ChainHash } from '../support/audit-forgery.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { ACME_CONFIG, api, runCli } from '../support/server.ts';

/**
 * Issue 10, item 4: a workload that got hold of idp.sqlite rewrote an audit record, re-hashed
 * the chain with SHA-256 (the algorithm is public) and `idp audit:verify` said OK. The chain is
 * now HMAC-SHA256 under <data-dir>/audit.key, which is not in the store: the same attack, done
 * to the real file of a running `idp server`, makes the real CLI exit 1 (AUDIT_TAMPERED) naming
 * the record; a guessed key fares no better; a store from before the upgrade keeps verifying
 * and its plain part cannot be re-hashed either; and removing the keyed-chain marker to pass a
 * plain chain off as pre-upgrade makes the next start refuse (AUDIT_KEY_MISMATCH).
 */
describe('security 04: rewriting and re-hashing the audit chain is detected', () => {
  let server: HostileServer;
  let dataDir = '';
  const verify = () => runCli(['audit:verify'], { IDP_URL: server.url, IDP_TOKEN: server.adminToken });

  /** The attacker: the SQLite file, opened directly, as a workload that got it would. */
  function tamper(
    edit: { seq: number; details: Record<string, unknown> } | null,
    hash: ChainHash,
    fromSeq = 1,
    toSeq = Infinity,
  ) {
    const db = new Database(join(dataDir, 'idp.sqlite'));
    try {
      db.transaction(() => {
        if (edit)
          db.prepare('update audit_log set details = ? where seq = ?').run(JSON.stringify(edit.details), edit.seq);
        const rows = db.prepare('select * from audit_log order by seq').all() as AuditRow[];
        const forged = forgeChain(rows, hash, fromSeq, toSeq);
        const set = db.prepare('update audit_log set prev_hash = ?, hash = ? where seq = ?');
        for (const u of forged.updates) set.run(u.prev_hash, u.hash, u.seq);
        if (toSeq === Infinity)
          db.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(forged.head.seq, forged.head.hash);
      })();
    } finally {
      db.close();
    }
  }
  function snapshot() {
    const db = new Database(join(dataDir, 'idp.sqlite'), { readonly: true });
    try {
      return {
        rows: db.prepare('select * from audit_log order by seq').all() as AuditRow[],
        head: db.prepare('select * from audit_head').get() as Record<string, unknown>,
      };
    } finally {
      db.close();
    }
  }
  function restore(s: ReturnType<typeof snapshot>) {
    const db = new Database(join(dataDir, 'idp.sqlite'));
    try {
      db.transaction(() => {
        const set = db.prepare('update audit_log set details = ?, prev_hash = ?, hash = ? where seq = ?');
        for (const r of s.rows) set.run(r.details, r.prev_hash, r.hash, r.seq);
        db.prepare('update audit_head set seq = ?, hash = ?, keyed_from = ?, key_check = ?, mac = ? where id = 1').run(
          s.head.seq,
          s.head.hash,
          s.head.keyed_from,
          s.head.key_check,
          s.head.mac,
        );
      })();
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    // A store from before the upgrade: its chain written by the unkeyed (plain SHA-256) code.
    dataDir = mkdtempSync(join(tmpdir(), 'idp-sec04-'));
    const store = await openStore({ dataDir });
    const old = new AuditLog(store.db, { now: () => new Date() }, store.dialect);
    for (let i = 1; i <= 4; i++)
      await old.append({
        actor: 'user:default/frank',
        action: 'token:create',
        target: `token:old${i}`,
        decision: 'allow',
        details: { before: 'upgrade' },
      });
    await store.close();

    server = await startHostileServer({ dataDir, args: ['--config', ACME_CONFIG] });
    // Records by the keyed control plane: tokens made, a denial.
    await server.tokenFor('alice');
    await server.tokenFor('dave');
    expect(
      (await api(server, await server.tokenFor('bob'), 'POST', '/api/tokens', { user: 'carol@company.com' })).status,
    ).toBe(403);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('verifies the untampered log: keyed from the first record the new control plane wrote, the older ones shown unkeyed', async () => {
    expect(server.output()).toMatch(/audit: the chain is keyed from record 5 on; records 1-4 stay plain SHA-256/);
    const ok = await verify();
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/keyed \(HMAC-SHA256, key ak_[0-9a-f]{16}\) from seq 5; seq 1-4 unkeyed/);
    const json = await api(server, server.adminToken, 'GET', '/api/audit/verify');
    expect(json.json).toMatchObject({ ok: true, keyed: true, keyedFromSeq: 5, firstBadSeq: null });
    expect(json.json.records).toBeGreaterThan(6);
    // The key is where workloads cannot go, and nowhere the attacker can: not in the store, not in the output.
    const key = readFileSync(join(dataDir, 'audit.key'), 'utf8').trim();
    const raw = Buffer.from(key, 'base64');
    const sqlite = readFileSync(join(dataDir, 'idp.sqlite'));
    for (const form of [key, raw.toString('hex')]) {
      expect(sqlite.includes(Buffer.from(form))).toBe(false);
      expect(server.output()).not.toContain(form);
    }
  });

  it('names the record when one is rewritten and the chain re-hashed with plain SHA-256, as the old code did', async () => {
    const before = snapshot();
    // The least an attacker must recompute: from the edited record to the head.
    tamper({ seq: 6, details: { code: 'forged' } }, plainSha256, 6);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/AUDIT_TAMPERED/);
    expect(v.stderr).toMatch(/record 6 was re-hashed without the audit key/);
    expect(v.stderr).toMatch(/first bad record: seq 6/);
    // The whole chain re-hashed: the first keyed record is the first that fails.
    tamper(null, plainSha256);
    const whole = await verify();
    expect(whole.code).toBe(1);
    expect(whole.stderr).toMatch(/record 5 was re-hashed without the audit key.*first bad record: seq 5/s);
    restore(before);
    expect((await verify()).code).toBe(0);
    expect(await server.alive()).toBe(true);
  });

  it('detects a re-hash with a guessed key, and a re-hash of the pre-upgrade plain part', async () => {
    const before = snapshot();
    tamper({ seq: 7, details: { code: 'forged' } }, hmacWith(randomBytes(32)), 7);
    const guessed = await verify();
    expect(guessed.code).toBe(1);
    expect(guessed.stderr).toMatch(/record 7 was changed after it was written \(MAC mismatch/);
    restore(before);

    // Records 1-4 are plain: rewrite record 2, re-hash 2-4, relink record 5. Record 5's MAC covers record 4's hash.
    tamper({ seq: 2, details: { before: 'forged' } }, plainSha256, 2, 4);
    const plainPart = await verify();
    expect(plainPart.code).toBe(1);
    expect(plainPart.stderr).toMatch(/record 5, the first keyed record, does not verify/);
    restore(before);
    expect((await verify()).code).toBe(0);
    expect(await server.alive()).toBe(true);
  });

  it('refuses to start once the keyed-chain marker was removed to pass a plain re-hash off as pre-upgrade', async () => {
    tamper({ seq: 6, details: { code: 'forged' } }, plainSha256);
    const db = new Database(join(dataDir, 'idp.sqlite'));
    db.prepare('update audit_head set keyed_from = null, key_check = null, mac = null where id = 1').run();
    db.close();
    const running = await verify();
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/keyed-chain marker/);

    await server.stop();
    const restart = await runCli(['server', '--port', '0', '--data-dir', dataDir, '--config', ACME_CONFIG]);
    expect(restart.code).not.toBe(0);
    expect(restart.stderr).toMatch(/AUDIT_KEY_MISMATCH/);
    expect(restart.stderr).toMatch(/marker was removed/);
    expect(restart.stderr).not.toMatch(/\n\s+at /);
  });
});
