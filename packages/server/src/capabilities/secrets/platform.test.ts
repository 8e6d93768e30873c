import { beforeAll, describe, expect, it } from 'vitest';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { AuditLog } from '../../audit/index.ts';
import type { Store } from '../../store/index.ts';
import { SecretCipher, resolveMasterKey } from './crypto.ts';
import { PlatformSecrets } from './platform.ts';
import { SecretStore } from './store.ts';

const ACTOR = 'system:test';

describe('what the platform does with secrets, on the real SQLite store', () => {
  const tmp = tempSqliteStore('platform-secrets');
  let store: Store;
  let audit: AuditLog;
  let secrets: SecretStore;
  let platform: PlatformSecrets;
  let n = 0;
  beforeAll(async () => {
    store = tmp.store;
    audit = new AuditLog(store.db, { now: () => new Date('2030-01-01T00:00:00Z') }, store.dialect);
    const deps = {
      db: store.db,
      dialect: store.dialect,
      audit,
      clock: { now: () => new Date('2030-01-01T00:00:00Z') },
      ids: { next: (p: string) => `${p}_${++n}` },
      cipher: new SecretCipher(resolveMasterKey(tmp.dataDir, undefined)),
    };
    secrets = new SecretStore(deps);
    platform = new PlatformSecrets(deps, secrets);
  });

  it('seeds values once, hands them to workloads, copies an environment re-encrypted, and purges it', async () => {
    await platform.setAsSystem(ACTOR, 'staging/payments-api/DB_PASSWORD', 'p4ss');
    await platform.setAsSystem(ACTOR, 'staging/payments-api/API_KEY', 'k3y');
    await platform.setAsSystem(ACTOR, 'staging/payments-api/API_KEY', 'ignored'); // a live secret is left as it is
    await platform.setAsSystem(ACTOR, 'staging/orders/TOKEN', 't0k');
    expect(await platform.valuesFor('staging', 'payments-api')).toEqual({ DB_PASSWORD: 'p4ss', API_KEY: 'k3y' });
    expect(await platform.countEnvironment('staging')).toBe(3);

    // No plaintext in any row.
    const stored = JSON.stringify(await store.db.selectFrom('secret_versions').selectAll().execute());
    for (const v of ['p4ss', 'k3y', 't0k']) expect(stored).not.toContain(v);

    await platform.setAsSystem(ACTOR, 'pr-7/payments-api/API_KEY', 'already-there');
    expect(await platform.copyEnvironment('staging', 'pr-7', ACTOR, 'req-copy')).toBe(2);
    expect(await platform.copyEnvironment('staging', 'pr-7', ACTOR, 'req-copy')).toBe(0); // a re-run converges
    expect(await platform.valuesFor('pr-7', 'payments-api')).toEqual({ API_KEY: 'already-there', DB_PASSWORD: 'p4ss' });
    expect(await platform.valuesFor('pr-7', 'orders')).toEqual({ TOKEN: 't0k' });
    // Re-encrypted for the new path: the copy is not the source's ciphertext.
    const ciphertexts = await store.db
      .selectFrom('secrets as s')
      .innerJoin('secret_versions as v', 'v.secret_id', 's.id')
      .select(['s.env', 'v.ciphertext'])
      .where('s.service', '=', 'orders')
      .execute();
    expect(new Set(ciphertexts.map((c) => c.ciphertext)).size).toBe(2);

    expect(await platform.purgeEnvironment('pr-7', ACTOR, 'req-purge')).toBe(3);
    expect(await platform.countEnvironment('pr-7')).toBe(0);
    expect(await platform.valuesFor('pr-7', 'payments-api')).toEqual({});
    expect(await platform.countEnvironment('staging')).toBe(3);

    const actions = (await audit.list({ limit: 100 })).reverse().map((r) => `${r.action} ${r.target}`);
    expect(actions).toEqual([
      'secret:write secret:staging/payments-api/DB_PASSWORD',
      'secret:write secret:staging/payments-api/API_KEY',
      'secret:write secret:staging/orders/TOKEN',
      'secret:write secret:pr-7/payments-api/API_KEY',
      'secret:copy secret:pr-7/*/*',
      'secret:copy secret:pr-7/*/*',
      'secret:purge secret:pr-7/*/*',
    ]);
    expect(JSON.stringify(await audit.list({ limit: 100 }))).not.toMatch(/p4ss|k3y|t0k|already-there/);
  });

  it('a deleted secret is set again as the next version; the scope revision counts every change', async () => {
    await platform.setAsSystem(ACTOR, 'dev/payments-api/KEY', 'one');
    const row = await store.db.selectFrom('secrets').selectAll().where('env', '=', 'dev').executeTakeFirstOrThrow();
    await store.db
      .updateTable('secrets')
      .set({ deleted_at: '2030-01-01T00:00:00Z', deleted_by: ACTOR })
      .where('id', '=', row.id)
      .execute();
    expect(await platform.valuesFor('dev', 'payments-api')).toEqual({});
    await platform.setAsSystem(ACTOR, 'dev/payments-api/KEY', 'two');
    expect(await platform.valuesFor('dev', 'payments-api')).toEqual({ KEY: 'two' });
    const after = await store.db.selectFrom('secrets').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(after).toMatchObject({ current_version: 2, deleted_at: null });
    const scope = await store.db
      .selectFrom('secret_scopes')
      .selectAll()
      .where('env', '=', 'dev')
      .executeTakeFirstOrThrow();
    expect(Number(scope.revision)).toBe(2);
  });
});
