import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodeVault from 'node-vault';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { captureStderr, fakeClock, findLeaks, SecretValues, userTokens } from './secrets-fixtures.ts';

// The secret store through the real HTTP API of an in-process control plane (SQLite, a fake
// clock): set/get/list/versions/delete, bad input, tampering, and the Vault KV v2 endpoint read
// with the real `node-vault` client. The last test scans the data dir and the logs for every
// value used.

describe('secrets over HTTP', () => {
  const values = new SecretValues();
  const clock = fakeClock(Date.parse('2030-03-01T09:00:00Z'));
  const logs: string[] = [];
  let stderr: ReturnType<typeof captureStderr>;
  let server: TestServer;
  let t: Record<string, string>;
  const as = (user: string) => ({
    get: (path: string) => api(server, t[user]!, 'GET', path),
    put: (path: string, body: unknown) => api(server, t[user]!, 'PUT', path, body),
    post: (path: string, body: unknown) => api(server, t[user]!, 'POST', path, body),
    del: (path: string) => api(server, t[user]!, 'DELETE', path),
  });
  const vaultFor = (token: string) => nodeVault({ endpoint: server.url, token });

  beforeAll(async () => {
    stderr = captureStderr();
    process.env.IDP_LOG_REQUESTS = '1';
    server = await startTestServer({ clock, logLevel: 'debug', catalogTimer: false, log: (l) => logs.push(l) });
    t = await userTokens(server, ['alice', 'bob', 'dave', 'frank']);
  });
  afterAll(async () => {
    delete process.env.IDP_LOG_REQUESTS;
    stderr?.restore();
    await server?.stop();
  });

  it('sets versions, reads them back, lists names and versions without values, and deletes', async () => {
    const v1 = values.make('stripe-1');
    const v2 = values.make('stripe-2\nwith a second line ✓');
    const set1 = await as('alice').put('/api/secrets/staging/payments-api/STRIPE_KEY', { value: v1 });
    expect(set1.status, set1.text).toBe(200);
    expect(set1.json).toMatchObject({
      path: 'staging/payments-api/STRIPE_KEY',
      version: 1,
      createdBy: 'user:default/alice',
      updatedBy: 'user:default/alice',
    });
    expect(set1.text).not.toContain(v1);
    clock.advance(60);
    const set2 = await as('bob').put('/api/secrets/staging/payments-api/STRIPE_KEY', { value: v2 });
    expect(set2.json).toMatchObject({ version: 2, createdBy: 'user:default/alice', updatedBy: 'user:default/bob' });

    const current = await as('alice').get('/api/secrets/staging/payments-api/STRIPE_KEY');
    expect(current.status).toBe(200);
    expect(current.json).toMatchObject({ value: v2, version: 2, versionCreatedBy: 'user:default/bob', grant: null });
    expect((await as('alice').get('/api/secrets/staging/payments-api/STRIPE_KEY?version=1')).json.value).toBe(v1);

    const list = await as('alice').get('/api/secrets?env=staging&service=payments-api');
    expect(list.json.items).toEqual([
      expect.objectContaining({ path: 'staging/payments-api/STRIPE_KEY', version: 2, updatedBy: 'user:default/bob' }),
    ]);
    expect(list.text).not.toContain(v1);
    expect(list.text).not.toContain(v2.split('\n')[0]);

    const versions = await as('alice').get('/api/secrets/staging/payments-api/STRIPE_KEY/versions');
    expect(versions.json).toEqual({
      path: 'staging/payments-api/STRIPE_KEY',
      deletedAt: null,
      items: [
        { version: 2, createdAt: expect.any(String), createdBy: 'user:default/bob', current: true },
        { version: 1, createdAt: expect.any(String), createdBy: 'user:default/alice', current: false },
      ],
    });

    const gone = values.make('gone');
    await as('alice').put('/api/secrets/staging/payments-api/OLD_KEY', { value: gone });
    expect((await as('alice').del('/api/secrets/staging/payments-api/OLD_KEY')).status).toBe(200);
    const afterDelete = await as('alice').get('/api/secrets/staging/payments-api/OLD_KEY');
    expect(afterDelete.status).toBe(404);
    expect(afterDelete.json.error.code).toBe('SECRET_NOT_FOUND');
    expect(afterDelete.json.error.message).toContain('was deleted');
    // Versions are kept, and an old one stays readable by version.
    expect((await as('alice').get('/api/secrets/staging/payments-api/OLD_KEY/versions')).json).toMatchObject({
      deletedAt: expect.any(String),
      items: [{ version: 1, current: false }],
    });
    expect((await as('alice').get('/api/secrets/staging/payments-api/OLD_KEY?version=1')).json.value).toBe(gone);
    expect((await as('alice').del('/api/secrets/staging/payments-api/OLD_KEY')).json.error.code).toBe(
      'SECRET_NOT_FOUND',
    );
    expect(
      (await as('alice').get('/api/secrets?env=staging&service=payments-api')).json.items.map((i: any) => i.key),
    ).toEqual(['STRIPE_KEY']);
  });

  it('answers bad input with clear codes and never echoes a value', async () => {
    const v = values.make('bad-input');
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/api/secrets/staging/payments-api/NOPE', undefined, 404, 'SECRET_NOT_FOUND'],
      ['GET', '/api/secrets/staging/payments-api/STRIPE_KEY?version=9', undefined, 404, 'SECRET_NOT_FOUND'],
      ['PUT', '/api/secrets/staging/no-such-service/KEY', { value: v }, 404, 'NOT_FOUND'],
      ['PUT', '/api/secrets/staging/payments-api/BAD%20KEY', { value: v }, 400, 'SECRET_PATH_INVALID'],
      ['PUT', '/api/secrets/Staging/payments-api/KEY', { value: v }, 400, 'SECRET_PATH_INVALID'],
      ['GET', '/api/secrets/staging/payments-api', undefined, 400, 'SECRET_PATH_INVALID'],
      ['GET', '/api/secrets/a/b/c/d/e', undefined, 400, 'SECRET_PATH_INVALID'],
      ['PUT', '/api/secrets/staging/payments-api/EMPTY', { value: '' }, 400, 'VALIDATION_FAILED'],
      [
        'PUT',
        '/api/secrets/staging/payments-api/HUGE',
        { value: `${v}${'x'.repeat(70_000)}` },
        400,
        'VALIDATION_FAILED',
      ],
      ['PUT', '/api/secrets/staging/payments-api/EXTRA', { value: v, other: 1 }, 400, 'VALIDATION_FAILED'],
      ['GET', '/api/secrets?env=Prod', undefined, 400, 'SECRET_PATH_INVALID'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await api(server, t.alice!, method, path, body);
      expect([res.status, res.json?.error?.code], `${method} ${path}`).toEqual([status, code]);
      expect(res.text).not.toContain(v);
    }
  });

  it('keeps other teams out: no read, list, write or delete of what they do not own', async () => {
    const v = values.make('users-api');
    expect((await as('dave').put('/api/secrets/staging/users-api/DB_URL', { value: v })).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/secrets/staging/users-api/DB_URL'],
      ['GET', '/api/secrets/staging/users-api/DB_URL/versions'],
      ['GET', '/api/secrets?env=staging&service=users-api'],
      ['DELETE', '/api/secrets/staging/users-api/DB_URL'],
    ] as const) {
      const res = await api(server, t.alice!, method, path);
      expect([res.status, res.json.error.code], `${method} ${path}`).toEqual([403, 'POLICY_DENIED']);
      expect(res.text).not.toContain(v);
    }
    // An unfiltered list shows only what the caller may list; the platform admin sees everything.
    expect((await as('alice').get('/api/secrets')).json.items.map((i: any) => i.service)).not.toContain('users-api');
    expect((await as('frank').get('/api/secrets')).json.items.map((i: any) => i.path)).toEqual(
      expect.arrayContaining(['staging/users-api/DB_URL', 'staging/payments-api/STRIPE_KEY']),
    );
    expect((await as('frank').get('/api/secrets/staging/users-api/DB_URL')).json.value).toBe(v);
  });

  it('production values need a grant, even for the owners, who get one at once', async () => {
    const v = values.make('prod-stripe');
    expect((await as('alice').put('/api/secrets/production/payments-api/STRIPE_KEY', { value: v })).status).toBe(200);
    const denied = await as('alice').get('/api/secrets/production/payments-api/STRIPE_KEY');
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({
      code: 'POLICY_DENIED',
      details: { forbiddenBy: ['secrets/production-needs-grant'] },
    });
    expect(denied.json.error.details.hint).toContain('idp access:request --secret=production/payments-api/STRIPE_KEY');
    // Platform admins too.
    expect((await as('frank').get('/api/secrets/production/payments-api/STRIPE_KEY')).status).toBe(403);
    // policy:check sees the real Secret (owner, tier) and explains it; a grant in the context flips it.
    const check = (context: Record<string, unknown>) =>
      as('alice').post('/api/policy/check', {
        principal: 'alice@company.com',
        action: 'secret:read',
        resource: 'secret:production/payments-api/STRIPE_KEY',
        context,
      });
    expect((await check({})).json).toMatchObject({
      decision: 'deny',
      forbiddenBy: ['secrets/production-needs-grant'],
      errors: [],
    });
    expect((await check({ hasGrant: true })).json).toMatchObject({
      decision: 'allow',
      permittedBy: ['secrets/grant-holders-read'],
    });

    const grant = await as('alice').post('/api/access/requests', {
      secret: 'production/payments-api/STRIPE_*',
      reason: 'INC-42',
      duration: '1h',
    });
    expect(grant.json).toMatchObject({ status: 'approved', autoApproved: true, rule: ['access/owners-auto-approve'] });
    const read = await as('alice').get('/api/secrets/production/payments-api/STRIPE_KEY');
    expect(read.json).toMatchObject({ value: v, grant: grant.json.id });
    // The grant covers STRIPE_* only.
    await as('alice').put('/api/secrets/production/payments-api/DB_URL', { value: values.make('prod-db') });
    expect((await as('alice').get('/api/secrets/production/payments-api/DB_URL')).status).toBe(403);
  });

  it('detects a tampered ciphertext, or one moved to another row: a clear error, nothing returned, audited', async () => {
    const a = values.make('tamper-a');
    const b = values.make('tamper-b');
    await as('alice').put('/api/secrets/staging/payments-api/TAMPER_A', { value: a });
    await as('alice').put('/api/secrets/staging/payments-api/TAMPER_B', { value: b });
    const db = server.services.store.db;
    const rowOf = async (key: string) =>
      db
        .selectFrom('secrets as s')
        .innerJoin('secret_versions as v', 'v.secret_id', 's.id')
        .select(['v.secret_id', 'v.version', 'v.ciphertext', 'v.wrapped_key'])
        .where('s.key', '=', key)
        .executeTakeFirstOrThrow();
    const ra = await rowOf('TAMPER_A');
    const rb = await rowOf('TAMPER_B');
    const raw = Buffer.from(ra.ciphertext, 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0x01;
    await db
      .updateTable('secret_versions')
      .set({ ciphertext: raw.toString('base64') })
      .where('secret_id', '=', ra.secret_id)
      .execute();
    // B gets A's (valid) ciphertext and data key: it must not decrypt to A's value.
    await db
      .updateTable('secret_versions')
      .set({ ciphertext: ra.ciphertext, wrapped_key: ra.wrapped_key })
      .where('secret_id', '=', rb.secret_id)
      .execute();

    for (const key of ['TAMPER_A', 'TAMPER_B']) {
      const res = await as('alice').get(`/api/secrets/staging/payments-api/${key}`);
      expect(res.status).toBe(500);
      expect(res.json.error.code).toBe('SECRET_INTEGRITY_FAILED');
      expect(res.json.error.message).toContain(`staging/payments-api/${key} version 1 failed its integrity check`);
      expect(res.text).not.toContain(a);
      expect(res.text).not.toContain(b);
    }
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?action=secret:read&decision=error&limit=10');
    expect(audit.json.items.map((r: any) => [r.target, r.details.code])).toEqual(
      expect.arrayContaining([
        ['secret:staging/payments-api/TAMPER_A', 'SECRET_INTEGRITY_FAILED'],
        ['secret:staging/payments-api/TAMPER_B', 'SECRET_INTEGRITY_FAILED'],
      ]),
    );
    // Put them right again so the Vault read below sees a healthy service.
    await as('alice').del('/api/secrets/staging/payments-api/TAMPER_A');
    await as('alice').del('/api/secrets/staging/payments-api/TAMPER_B');
  });

  it('serves the Vault KV v2 read to the real node-vault client with a workload token', async () => {
    const dbUrl = values.make('vault-db-url');
    await as('alice').put('/api/secrets/staging/payments-api/DATABASE_URL', { value: dbUrl });
    const issued = await as('bob').post('/api/secrets/tokens', { env: 'staging', service: 'payments-api', ttl: '2h' });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.json).toMatchObject({
      env: 'staging',
      service: 'payments-api',
      grant: null,
      token: expect.stringMatching(/^idpw_/),
    });

    const vault = vaultFor(issued.json.token);
    const res = await vault.read('secret/data/staging/payments-api');
    const stripe = (await as('alice').get('/api/secrets/staging/payments-api/STRIPE_KEY')).json.value;
    expect(res).toMatchObject({
      request_id: expect.any(String),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      warnings: null,
      auth: null,
      data: {
        data: { DATABASE_URL: dbUrl, STRIPE_KEY: stripe },
        metadata: {
          created_time: expect.any(String),
          custom_metadata: null,
          deletion_time: '',
          destroyed: false,
          version: expect.any(Number),
        },
      },
    });
    expect(Object.keys(res.data.data).sort()).toEqual(['DATABASE_URL', 'STRIPE_KEY']);
    const versionBefore = res.data.metadata.version;
    await as('alice').put('/api/secrets/staging/payments-api/DATABASE_URL', { value: values.make('vault-db-url-2') });
    expect((await vault.read('secret/data/staging/payments-api')).data.metadata.version).toBe(versionBefore + 1);

    const failure = async (v: ReturnType<typeof nodeVault>, path: string) => {
      try {
        await v.read(path);
        return 'no error';
      } catch (err: any) {
        return `${err.response?.statusCode} ${err.message}`;
      }
    };
    expect(await failure(vault, 'secret/data/staging/users-api')).toBe('403 permission denied');
    expect(await failure(vault, 'secret/data/production/payments-api')).toBe('403 permission denied');
    expect(await failure(vaultFor('idpw_not-a-token'), 'secret/data/staging/payments-api')).toBe(
      '403 permission denied',
    );
    expect(await failure(vaultFor(t.alice!), 'secret/data/staging/payments-api')).toBe('403 permission denied');
    expect(await failure(vault, 'secret/data/staging')).toBe('404 Status 404');

    // A service with no secrets in that environment: Vault's 404 with an empty errors list.
    const empty = await as('frank').post('/api/secrets/tokens', { env: 'qa', service: 'web-frontend' });
    const raw = await fetch(`${server.url}/v1/secret/data/qa/web-frontend`, {
      headers: { 'X-Vault-Token': empty.json.token },
    });
    expect([raw.status, await raw.json()]).toEqual([404, { errors: [] }]);

    // Tokens are for the owning team (and admins), and expire.
    expect(
      (await as('dave').post('/api/secrets/tokens', { env: 'staging', service: 'payments-api' })).json.error.code,
    ).toBe('POLICY_DENIED');
    expect(
      (await as('bob').post('/api/secrets/tokens', { env: 'staging', service: 'payments-api', ttl: '31d' })).json.error
        .details.forbiddenBy,
    ).toEqual(['secrets/workload-token-max-ttl']);
    expect(
      (await as('bob').post('/api/secrets/tokens', { env: 'staging', service: 'payments-api', ttl: '2x' })).json.error
        .code,
    ).toBe('INVALID_DURATION');
    clock.advance(2 * 3600 + 1);
    expect(await failure(vault, 'secret/data/staging/payments-api')).toBe('403 permission denied');

    const audit = await api(server, server.adminToken, 'GET', `/api/audit?actor=workload:${issued.json.id}&limit=20`);
    expect(audit.json.items.map((r: any) => r.decision)).toEqual(expect.arrayContaining(['allow', 'deny']));
    expect(audit.json.items.find((r: any) => r.decision === 'allow').details).toMatchObject({
      via: 'vault',
      keys: ['DATABASE_URL', 'STRIPE_KEY'],
      tokenCreatedBy: 'user:default/bob',
    });
  });

  it('binds a production workload token to the grant it needs, and ends it with the grant', async () => {
    const v = values.make('prod-vault');
    await as('bob').put('/api/secrets/production/payments-api/WEBHOOK_SECRET', { value: v });
    const without = await as('bob').post('/api/secrets/tokens', { env: 'production', service: 'payments-api' });
    expect(without.json.error).toMatchObject({
      code: 'POLICY_DENIED',
      details: { forbiddenBy: ['secrets/production-needs-grant'] },
    });
    // A grant for one key is not a grant for the whole service.
    await as('bob').post('/api/access/requests', {
      secret: 'production/payments-api/WEBHOOK_SECRET',
      reason: 'deploy',
      duration: '1h',
    });
    expect((await as('bob').post('/api/secrets/tokens', { env: 'production', service: 'payments-api' })).status).toBe(
      403,
    );

    const grant = await as('bob').post('/api/access/requests', {
      secret: 'production/payments-api/*',
      reason: 'deploy 1.4.2',
      duration: '30m',
    });
    const issued = await as('bob').post('/api/secrets/tokens', {
      env: 'production',
      service: 'payments-api',
      ttl: '12h',
    });
    expect(issued.json).toMatchObject({ grant: grant.json.id, expiresAt: grant.json.expiresAt });
    const vault = vaultFor(issued.json.token);
    expect((await vault.read('secret/data/production/payments-api')).data.data.WEBHOOK_SECRET).toBe(v);
    expect(
      (await as('alice').post(`/api/access/requests/${grant.json.id}/revoke`, { reason: 'done' })).json.status,
    ).toBe('revoked');
    await expect(vault.read('secret/data/production/payments-api')).rejects.toThrow('permission denied');
  });

  it('refuses to start with another master key, and changes nothing', async () => {
    const dataDir = server.dataDir;
    const { readFileSync } = await import('node:fs');
    const keyFile = `${dataDir}/master.key`;
    const before = readFileSync(keyFile, 'utf8');
    const count = async () =>
      Number(
        (
          await server.services.store.db
            .selectFrom('secret_versions')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const rows = await count();
    const other = Buffer.alloc(32, 9).toString('base64');
    let error: any;
    try {
      await startTestServer({ dataDir, masterKey: other, catalogTimer: false });
    } catch (err) {
      error = err;
    }
    expect(error?.code).toBe('MASTER_KEY_MISMATCH');
    expect(error.message).toContain("is not the key this state store's secrets were encrypted with");
    expect(error.message).not.toContain(other);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    expect(await count()).toBe(rows);
  });

  it('a missing master.key is not replaced by a new one', async () => {
    const { mkdtempSync, renameSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-mk-'));
    try {
      const first = await startTestServer({ dataDir, catalogTimer: false, log: () => {} });
      await api(first, first.adminToken, 'PUT', '/api/secrets/staging/payments-api/K', { value: values.make('mk') });
      await first.close();
      renameSync(join(dataDir, 'master.key'), join(dataDir, 'master.key.bak'));
      await expect(startTestServer({ dataDir, catalogTimer: false })).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
        message: expect.stringContaining('does not exist'),
      });
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
      renameSync(join(dataDir, 'master.key.bak'), join(dataDir, 'master.key'));
      const again = await startTestServer({ dataDir, catalogTimer: false, log: () => {} });
      expect((await api(again, again.adminToken, 'GET', '/api/secrets/staging/payments-api/K')).status).toBe(200);
      await again.close();
      expect(findLeaks(values.all, [dataDir], [])).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('audits every set, get, list and delete with the actor, and never a value', async () => {
    const res = await api(server, server.adminToken, 'GET', '/api/audit?action=secret:*&limit=1000');
    const actions = new Set(res.json.items.map((r: any) => `${r.action} ${r.decision}`));
    for (const a of [
      'secret:write allow',
      'secret:read allow',
      'secret:read deny',
      'secret:list allow',
      'secret:delete allow',
      'secret:token allow',
    ])
      expect(actions).toContain(a);
    expect(res.json.items.every((r: any) => r.actor.length > 0)).toBe(true);
    const read = res.json.items.find(
      (r: any) => r.action === 'secret:read' && r.decision === 'allow' && r.details.via === 'api' && r.details.grant,
    );
    expect(read.details).toMatchObject({ grant: expect.stringMatching(/^acc_/), grantReason: expect.any(String) });
    expect(findLeaks(values.all, [], [res.text])).toEqual([]);
  });

  it('leaves no secret value in the data dir (SQLite, WAL) or the logs', async () => {
    // While the server still runs, the WAL holds the recent writes.
    expect(findLeaks(values.all, [server.dataDir], [stderr.text(), logs.join('\n')])).toEqual([]);
    expect(values.all.length).toBeGreaterThan(10);
    expect(stderr.text()).toContain('incoming request');
  });
});
