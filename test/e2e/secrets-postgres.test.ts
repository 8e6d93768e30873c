import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodeVault from 'node-vault';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';
import { captureStderr, findLeaks, SecretValues, userTokens } from './secrets-fixtures.ts';

// The secret store and access requests on PostgreSQL: the same flows, concurrent writers to one
// secret, the master key check kept in the database, and a scan of every table for the values.

const pgUp = await postgresAvailable();

describe.runIf(pgUp)('secrets and access on PostgreSQL', () => {
  const values = new SecretValues();
  let stderr: ReturnType<typeof captureStderr>;
  let db: Awaited<ReturnType<typeof createTempDatabase>>;
  let dataDir: string;
  let server: TestServer;
  let t: Record<string, string>;

  beforeAll(async () => {
    stderr = captureStderr();
    db = await createTempDatabase('idp_secrets');
    dataDir = mkdtempSync(join(tmpdir(), 'idp-secrets-pg-'));
    server = await startTestServer({ databaseUrl: db.url, dataDir, catalogTimer: false, logLevel: 'debug' });
    t = await userTokens(server, ['alice', 'bob', 'dave']);
  });
  afterAll(async () => {
    stderr?.restore();
    await server?.close();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('sets, reads, versions, deletes; concurrent writers each get their own version', async () => {
    const v1 = values.make('pg-1');
    expect(
      (await api(server, t.alice!, 'PUT', '/api/secrets/staging/payments-api/DB_URL', { value: v1 })).json.version,
    ).toBe(1);
    const writes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        api(server, t.bob!, 'PUT', '/api/secrets/staging/payments-api/DB_URL', { value: values.make(`pg-c${i}`) }),
      ),
    );
    expect(writes.map((w) => w.status)).toEqual([200, 200, 200, 200, 200]);
    expect(writes.map((w) => w.json.version).sort()).toEqual([2, 3, 4, 5, 6]);
    const versions = await api(server, t.alice!, 'GET', '/api/secrets/staging/payments-api/DB_URL/versions');
    expect(versions.json.items.map((v: any) => v.version)).toEqual([6, 5, 4, 3, 2, 1]);
    expect((await api(server, t.alice!, 'GET', '/api/secrets/staging/payments-api/DB_URL?version=1')).json.value).toBe(
      v1,
    );
    expect((await api(server, t.alice!, 'DELETE', '/api/secrets/staging/payments-api/DB_URL')).status).toBe(200);
    expect((await api(server, t.alice!, 'GET', '/api/secrets/staging/payments-api/DB_URL')).json.error.code).toBe(
      'SECRET_NOT_FOUND',
    );
  });

  it('grants, approvals and the Vault endpoint work the same', async () => {
    const v = values.make('pg-prod');
    await api(server, t.alice!, 'PUT', '/api/secrets/production/payments-api/STRIPE_KEY', { value: v });
    const pending = await api(server, t.dave!, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/STRIPE_KEY',
      reason: 'INC-9',
      duration: '1h',
    });
    expect(pending.json.status).toBe('pending');
    expect((await api(server, t.bob!, 'POST', `/api/access/requests/${pending.json.id}/approve`, {})).json.status).toBe(
      'approved',
    );
    expect((await api(server, t.dave!, 'GET', '/api/secrets/production/payments-api/STRIPE_KEY')).json.value).toBe(v);

    await api(server, t.alice!, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/*',
      reason: 'deploy',
      duration: '1h',
    });
    const token = (
      await api(server, t.alice!, 'POST', '/api/secrets/tokens', { env: 'production', service: 'payments-api' })
    ).json.token;
    const read = await nodeVault({ endpoint: server.url, token }).read('secret/data/production/payments-api');
    expect(read.data.data).toEqual({ STRIPE_KEY: v });
    expect((await api(server, server.adminToken, 'GET', '/api/audit/verify')).json.ok).toBe(true);
  });

  it('keeps the master key check in PostgreSQL: another data dir with a new key is refused', async () => {
    const other = mkdtempSync(join(tmpdir(), 'idp-secrets-pg-other-'));
    try {
      await expect(startTestServer({ databaseUrl: db.url, dataDir: other, catalogTimer: false })).rejects.toMatchObject(
        { code: 'MASTER_KEY_MISMATCH' },
      );
      // The same key, given as IDP_MASTER_KEY, opens it from anywhere — with the same audit key
      // (IDP_AUDIT_KEY): the audit chain's key check is in PostgreSQL too.
      const key = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
      await expect(
        startTestServer({
          databaseUrl: db.url,
          dataDir: other,
          masterKey: key,
          catalogTimer: false,
          adminToken: 'second',
        }),
      ).rejects.toMatchObject({ code: 'AUDIT_KEY_MISMATCH' });
      const auditKey = readFileSync(join(dataDir, 'audit.key'), 'utf8').trim();
      const second = await startTestServer({
        databaseUrl: db.url,
        dataDir: other,
        masterKey: key,
        auditKey,
        catalogTimer: false,
        adminToken: 'second',
      });
      expect((await api(second, 'second', 'GET', '/api/secrets/production/payments-api/STRIPE_KEY')).status).toBe(403); // production: a grant is needed, even for admins
      expect((await api(second, 'second', 'GET', '/api/secrets/staging/payments-api/DB_URL?version=2')).status).toBe(
        200,
      );
      await second.close();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('no secret value is in any table, the data dir or the logs', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = (
        await client.query(`select table_name from information_schema.tables where table_schema = 'public'`)
      ).rows.map((r) => r.table_name as string);
      expect(tables).toEqual(
        expect.arrayContaining(['secrets', 'secret_versions', 'access_requests', 'workload_tokens', 'audit_log']),
      );
      const dumps: string[] = [];
      for (const table of tables) {
        const rows = await client.query(`select row_to_json(t)::text as j from "${table}" t`);
        dumps.push(rows.rows.map((r) => r.j as string).join('\n'));
      }
      expect(findLeaks(values.all, [dataDir], [...dumps, stderr.text()])).toEqual([]);
      expect(dumps.join('\n')).toContain('staging/payments-api'); // the scan did see the data
    } finally {
      await client.end();
    }
  });
});
