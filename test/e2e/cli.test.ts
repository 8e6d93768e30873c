import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, ROOT, exited, runCli, startServerProcess } from '../support/server.ts';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';

describe('idp CLI against a real control plane process', () => {
  let server: Awaited<ReturnType<typeof startServerProcess>>;
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-cli-e2e-'));
  const configDir = mkdtempSync(join(tmpdir(), 'idp-cli-cfg-'));
  let adminToken: string;

  beforeAll(async () => {
    server = await startServerProcess(['--data-dir', dataDir]);
    adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    if (server) expect(await exited(server.child)).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  it('creates the admin token with mode 0600 on first start and says where it is', () => {
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(server.output()).toContain(join(dataDir, 'admin-token'));
    expect(server.output()).not.toContain(adminToken);
  });

  it('lists the topics in --help', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const topic of ['token', 'audit', 'policy', 'whoami', 'login', 'server']) expect(res.stdout).toContain(topic);
  });

  it('logs in, stores credentials 0600, and answers whoami', async () => {
    const login = await runCli(['login', '--url', server.url, '--token', adminToken], { IDP_CONFIG_DIR: configDir });
    expect(login.code).toBe(0);
    const file = join(configDir, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const who = await runCli(['whoami', '--output', 'json'], { IDP_CONFIG_DIR: configDir });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ ref: 'user:default/idp-admin', roles: ['admin', 'member'] });
  });

  it('walks the token lifecycle as an admin and as a user', async () => {
    const admin = { IDP_URL: server.url, IDP_TOKEN: adminToken };
    const created = await runCli(
      ['token:create', '--user', 'alice@company.com', '--ttl', '7d', '--output', 'json'],
      admin,
    );
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout);
    expect(token).toMatchObject({ user: 'user:default/alice', status: 'active' });
    expect(token.token).toMatch(/^idp_/);
    const alice = { IDP_URL: server.url, IDP_TOKEN: token.token };

    const who = await runCli(['whoami'], alice);
    expect(who.stdout).toContain('alice@company.com');
    expect(who.stdout).toContain('payments');

    const denied = await runCli(['token:create', '--user', 'bob@company.com'], alice);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/Error \[POLICY_DENIED\]/);
    expect(denied.stderr).toMatch(/Try this:/);
    expect(denied.stdout).toBe('');

    const missing = await runCli(['token:revoke', 'tok_doesnotexist'], admin);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/Error \[TOKEN_NOT_FOUND\]/);

    const badTtl = await runCli(['token:create', '--user', 'bob@company.com', '--ttl', '2x'], admin);
    expect(badTtl.code).toBe(2);

    const revoked = await runCli(['token:revoke', token.id, '--output', 'json'], alice);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout).status).toBe('revoked');
    const after = await runCli(['whoami'], alice);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/TOKEN_REVOKED/);

    const audit = await runCli(['audit', '--actor', 'alice@company.com', '--output', 'json'], admin);
    const actions = JSON.parse(audit.stdout).items.map((r: any) => `${r.action}:${r.decision}`);
    expect(actions).toEqual(expect.arrayContaining(['token:create:deny', 'token:revoke:allow']));
    const verify = await runCli(['audit:verify'], admin);
    expect(verify.code).toBe(0);

    const check = await runCli(
      [
        'policy:check',
        '--principal',
        'user:alice@company.com',
        '--action',
        'token:create',
        '--resource',
        'platform:idp',
        '--output',
        'yaml',
      ],
      admin,
    );
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/decision: deny/);
  });

  it('reports a tampered audit log with exit 1', async () => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dataDir, 'idp.sqlite'));
    db.prepare("update audit_log set target = 'token:forged' where seq = 1").run();
    db.close();
    const verify = await runCli(['audit:verify'], { IDP_URL: server.url, IDP_TOKEN: adminToken });
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/AUDIT_TAMPERED/);
    expect(verify.stderr).toMatch(/seq 1|record 1/);
  });
});

describe('start-up failures stop the server with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-bad-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startExpectingFailure(args: string[]) {
    const res = await runCli(['server', '--port', '0', '--data-dir', join(dir, 'data'), ...args]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    return res.stderr;
  }

  it('names the bad config field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'auth:\n  adminGroup: 42x_NOT_A_NAME\n');
    const err = await startExpectingFailure(['--config', bad]);
    expect(err).toMatch(/CONFIG_INVALID/);
    expect(err).toMatch(/auth\.adminGroup/);
  });

  it('names an unknown config key and a YAML syntax error line', async () => {
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'organisation:\n  name: x\n');
    expect(await startExpectingFailure(['--config', typo])).toMatch(/organisation/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'auth:\n  adminGroup: [platform\n');
    expect(await startExpectingFailure(['--config', broken])).toMatch(/broken\.yaml:\d+/);
  });

  it('names the policy file that does not validate', async () => {
    const org = join(dir, 'org');
    cpSync(join(ROOT, 'examples/acme'), org, { recursive: true });
    writeFileSync(
      join(org, 'bad.cedar'),
      '@id("oops")\npermit (principal, action == Action::"env:destroy", resource);\n',
    );
    const cfg = readFileSync(ACME_CONFIG, 'utf8').replace('paths: []', 'paths: [./bad.cedar]');
    writeFileSync(join(org, 'idp.config.yaml'), cfg);
    const err = await startExpectingFailure(['--config', join(org, 'idp.config.yaml')]);
    expect(err).toMatch(/POLICY_INVALID/);
    expect(err).toMatch(/bad\.cedar/);
    expect(err).toMatch(/env:destroy/);
  });

  it('refuses a data dir it cannot write', async () => {
    const err = await startExpectingFailure(['--data-dir', '/dev/null/idp']);
    expect(err).toMatch(/STORE_UNAVAILABLE|data-dir/);
  });
});

const pgUp = await postgresAvailable();
describe.runIf(pgUp)('the control plane on PostgreSQL (IDP_DATABASE_URL)', () => {
  it('keeps its state in PostgreSQL across restarts', async () => {
    const db = await createTempDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-pg-'));
    const env = { IDP_DATABASE_URL: db.url, IDP_ADMIN_TOKEN: 'pg-admin-token-for-tests' };
    try {
      let server = await startServerProcess(['--data-dir', dataDir], env);
      expect(server.output()).toMatch(/postgres/);
      const admin = { IDP_URL: server.url, IDP_TOKEN: env.IDP_ADMIN_TOKEN };
      const created = JSON.parse(
        (await runCli(['token:create', '--user', 'dave@company.com', '-o', 'json'], admin)).stdout,
      );
      server.child.kill('SIGTERM');
      await exited(server.child);

      server = await startServerProcess(['--data-dir', dataDir], env);
      const who = await runCli(['whoami', '-o', 'json'], { IDP_URL: server.url, IDP_TOKEN: created.token });
      expect(JSON.parse(who.stdout).email).toBe('dave@company.com');
      const verify = await runCli(['audit:verify', '-o', 'json'], {
        IDP_URL: server.url,
        IDP_TOKEN: env.IDP_ADMIN_TOKEN,
      });
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
      server.child.kill('SIGTERM');
      await exited(server.child);
    } finally {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
