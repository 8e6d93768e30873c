import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, api, runCli, startTestServer, type CliResult, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// The preview commands through the real CLI and server: the owning team (payments: alice) and
// admins (platform: frank) list and read a pull request's preview with its services, commit and
// events; anyone else (dave) is told there is none; redeploy and delete are recorded as
// deliveries for the worker and audited. The preview rows are what the life cycle leaves.

const REPO = 'acme/payments';
const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('idp preview:* commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-e2e-preview-cli-'));
  let server: TestServer;
  let config: string;
  const as: Record<string, Record<string, string>> = {};
  const idp = (user: string, args: string[]): Promise<CliResult> => runCli(args, as[user]);

  beforeAll(async () => {
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['previews'], {
      github: { apiUrl: 'http://127.0.0.1:1' },
      repositories: { [REPO]: { cloneUrl: `file://${join(dir, 'none')}`, team: 'payments' } },
    });
    config = join(dirname(ACME_CONFIG), 'idp.e2e-preview-cli.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startTestServer({ catalogTimer: false, environmentTimers: false, configPath: config });
    const tokens = await userTokens(server, ['alice', 'dave', 'frank']);
    for (const [u, token] of Object.entries(tokens)) as[u] = { IDP_URL: server.url, IDP_TOKEN: token };
    const now = new Date().toISOString();
    await server.services.store.db
      .insertInto('previews')
      .values({
        repo: REPO,
        number: 12,
        env: 'pr-12-acme-payments',
        status: 'ready',
        head_sha: SHA,
        head_ref: "fix/`id`;echo 'x'",
        head_repo: REPO,
        fork: 0,
        trusted: 0,
        title: 'Faster refunds\n\u001b[31m',
        author: 'octocat',
        services: JSON.stringify([
          {
            service: 'payments-api',
            version: '0123456789ab-aaaaaaaaaaaa',
            status: 'healthy',
            url: 'http://payments-api.pr-12-acme-payments.localhost:7080',
            deploymentId: 'dep_1',
          },
        ]),
        note: null,
        comment_id: null,
        created_at: now,
        updated_at: now,
        expires_at: null,
        closed_at: null,
      })
      .execute();
    await server.services.store.db
      .insertInto('webhook_deliveries')
      .values({
        id: 'e2e-delivery-1',
        event: 'pull_request',
        action: 'opened',
        repo: REPO,
        number: 12,
        payload: '{}',
        status: 'done',
        outcome: 'opened: deployed 0123456789ab',
        attempts: 1,
        received_at: now,
        finished_at: now,
      })
      .execute();
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(config, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('preview:list shows the owning team and admins the preview; others none', async () => {
    const alice = await idp('alice', ['preview:list']);
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.stdout).toMatch(
      /acme\/payments#12\s+pr-12-acme-payments\s+ready\s+0123456789ab\s+http:\/\/payments-api/,
    );
    const frank = await idp('frank', ['preview:list', '--repo', REPO, '-o', 'json']);
    expect(JSON.parse(frank.stdout).items.map((p: { number: number }) => p.number)).toEqual([12]);
    const dave = await idp('dave', ['preview:list']);
    expect(dave.code).toBe(0);
    expect(dave.stdout).not.toContain('acme/payments');
    expect(dave.stdout + dave.stderr).toContain('No previews you may see.');
  });

  it('preview:get shows the environment, services with URLs, the commit and the events; dave gets not found', async () => {
    const r = await idp('alice', ['preview:get', `${REPO}#12`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('environment  pr-12-acme-payments (team payments)');
    expect(r.stdout).toContain('http://payments-api.pr-12-acme-payments.localhost:7080');
    expect(r.stdout).toContain("commit       0123456789ab of fix/`id`;echo 'x'");
    expect(r.stdout).toContain('pull_request.opened');
    expect(r.stdout).toContain('opened: deployed 0123456789ab');
    expect(r.stdout).not.toContain('\u001b');

    const dave = await idp('dave', ['preview:get', `${REPO}#12`]);
    expect(dave.code).toBe(4);
    expect(dave.stderr).toContain('PREVIEW_NOT_FOUND');
    const bad = await idp('alice', ['preview:get', 'acme/payments']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('owner/name#number');
  });

  it('preview:redeploy and preview:delete are recorded for the worker and audited; dave can do neither', async () => {
    for (const cmd of ['preview:redeploy', 'preview:delete']) {
      const dave = await idp('dave', [cmd, `${REPO}#12`]);
      expect(dave.code, cmd).toBe(4);
    }
    const redeploy = await idp('alice', ['preview:redeploy', `${REPO}#12`]);
    expect(redeploy.code, redeploy.stderr).toBe(0);
    expect(redeploy.stderr).toContain('Redeploying 0123456789ab to pr-12-acme-payments');
    const del = await idp('frank', ['preview:delete', `${REPO}#12`]);
    expect(del.code, del.stderr).toBe(0);

    const queued = await server.services.store.db
      .selectFrom('webhook_deliveries')
      .select(['action', 'repo', 'number'])
      .where('id', 'like', 'idp-%')
      .orderBy('received_at')
      .execute();
    expect(queued).toEqual([
      { action: 'redeploy', repo: REPO, number: 12 },
      { action: 'closed', repo: REPO, number: 12 },
    ]);
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?limit=50');
    const actions = (audit.json as { items: { action: string; actor: string }[] }).items.map(
      (e) => `${e.actor} ${e.action}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining(['user:default/alice preview:redeploy', 'user:default/frank preview:delete']),
    );
  });

  it('the API answers the same over HTTP, and a bad repository segment is refused before any lookup', async () => {
    const r = await api(server, as.alice!.IDP_TOKEN!, 'GET', `/api/previews/acme/payments/12`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ repo: REPO, number: 12, team: 'payments', fork: false });
    const traversal = await api(server, as.alice!.IDP_TOKEN!, 'GET', `/api/previews/acme/..%2F..%2Fx/12`);
    expect(traversal.status).toBe(400);
    const anonymous = await api(server, null, 'GET', `/api/previews`);
    expect(anonymous.status).toBe(401);
  });
});
