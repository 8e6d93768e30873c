import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { ACME_CONFIG, api, runCli } from '../support/server.ts';

/**
 * Issue 10, item 13: workload (Vault) tokens could be neither listed nor revoked, and outlived
 * their creator's access. Now `idp secret:token:list` shows your own (admins: all; never the
 * token), `idp secret:token:revoke` ends one (its creator or an admin; others get
 * WORKLOAD_TOKEN_NOT_FOUND), and every Vault read re-decides the creator's `secret:token`
 * permission: a token whose creator left the owning team, or whose production grant was
 * revoked, is refused with Vault's 403 body, revoked for good by system:access-lost, and audited.
 */
describe("security 13: workload tokens are listed, revoked, and end with their creator's access", () => {
  let server: HostileServer;
  let dir = '';
  let orgPath = '';
  const t: Record<string, string> = {};

  beforeAll(async () => {
    // A copy of the demo organisation whose org.yaml this test edits (bob changes teams).
    dir = mkdtempSync(join(tmpdir(), 'idp-sec13-'));
    cpSync(dirname(ACME_CONFIG), dir, { recursive: true });
    orgPath = join(dir, 'catalog/org.yaml');
    // The organisation read directly (the config's locations are identity sources), not through
    // the catalog root's nested Location.
    const config = join(dir, 'idp.config.yaml');
    const doc = parseDocument(readFileSync(config, 'utf8'));
    doc.setIn(
      ['catalog', 'locations'],
      ['./catalog/org.yaml', './catalog/systems.yaml', './catalog/apis.yaml', './services'],
    );
    writeFileSync(config, doc.toString());
    server = await startHostileServer({ args: ['--config', config] });
    for (const name of ['alice', 'bob', 'dave', 'frank']) t[name] = await server.tokenFor(name);
    for (const env of ['staging', 'production']) {
      const set = await api(server, t.alice!, 'PUT', `/api/secrets/${env}/payments-api/STRIPE_KEY`, {
        value: `sk_${env}_4242`,
      });
      expect(set.status, set.text).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const vault = (token: string, env = 'staging') =>
    fetch(`${server.url}/v1/secret/data/${env}/payments-api`, { headers: { 'x-vault-token': token } }).then(
      async (r) => ({ status: r.status, json: (await r.json()) as any }),
    );
  const mint = async (who: string, env = 'staging') => {
    const res = await api(server, t[who]!, 'POST', '/api/secrets/tokens', { env, service: 'payments-api', ttl: '1h' });
    expect(res.status, res.text).toBe(201);
    return res.json as { id: string; token: string };
  };
  const audit = async (action: string) =>
    (await api(server, server.adminToken, 'GET', `/api/audit?action=${encodeURIComponent(action)}&limit=50`)).json
      .items as any[];

  it('lists your own tokens (admins: all), never the token; revoking ends Vault reads; others cannot see or revoke it', async () => {
    const made = await mint('alice');
    expect((await vault(made.token)).json.data.data.STRIPE_KEY).toBe('sk_staging_4242');

    const mine = await api(server, t.alice!, 'GET', '/api/secrets/tokens');
    expect(mine.status).toBe(200);
    const row = mine.json.items.find((x: any) => x.id === made.id);
    expect(row).toMatchObject({
      env: 'staging',
      service: 'payments-api',
      status: 'active',
      createdBy: 'user:default/alice',
      revokedAt: null,
    });
    expect(row.lastUsedAt).not.toBeNull();
    expect(mine.text).not.toContain(made.token);
    // bob (same team) sees only his own; frank (admin) sees alice's.
    expect((await api(server, t.bob!, 'GET', '/api/secrets/tokens')).json.items.map((x: any) => x.id)).not.toContain(
      made.id,
    );
    const all = await api(server, t.frank!, 'GET', '/api/secrets/tokens?env=staging');
    expect(all.json.items.map((x: any) => x.id)).toContain(made.id);
    expect(all.text).not.toContain(made.token);

    // dave (another team) and bob cannot revoke it, and cannot tell it exists.
    for (const who of ['dave', 'bob']) {
      const denied = await api(server, t[who]!, 'DELETE', `/api/secrets/tokens/${made.id}`);
      expect(denied.status).toBe(404);
      expect(denied.json.error.code).toBe('WORKLOAD_TOKEN_NOT_FOUND');
    }
    expect((await vault(made.token)).status).toBe(200);

    const revoked = await api(server, t.alice!, 'DELETE', `/api/secrets/tokens/${made.id}`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json).toMatchObject({ id: made.id, status: 'revoked', revokedBy: 'user:default/alice' });
    const refused = await vault(made.token);
    expect(refused).toEqual({ status: 403, json: { errors: ['permission denied'] } });
    const again = await api(server, t.alice!, 'DELETE', `/api/secrets/tokens/${made.id}`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('WORKLOAD_TOKEN_ALREADY_REVOKED');

    const records = await audit('secret:token:revoke');
    expect(
      records.some(
        (r) => r.target === `workload-token:${made.id}` && r.actor === 'user:default/alice' && r.decision === 'allow',
      ),
    ).toBe(true);
    const reads = await audit('secret:read');
    expect(reads.some((r) => r.actor === `workload:${made.id}` && r.decision === 'deny')).toBe(true);
    expect(JSON.stringify(records) + JSON.stringify(reads)).not.toContain(made.token);
    expect(await server.alive()).toBe(true);
  });

  it('the CLI lists and revokes (secret:token:list / secret:token:revoke, -o json)', async () => {
    const made = await mint('alice');
    const env = { IDP_URL: server.url, IDP_TOKEN: t.alice! };
    const list = await runCli(['secret:token:list', '--env', 'staging', '-o', 'json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).items.map((x: any) => x.id)).toContain(made.id);
    expect(list.stdout).not.toContain(made.token);
    const revoke = await runCli(['secret:token:revoke', made.id, '-o', 'json'], env);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ id: made.id, status: 'revoked' });
    expect((await vault(made.token)).status).toBe(403);
  });

  it('a production token ends when the grant it was issued under is revoked', async () => {
    const grant = await api(server, t.alice!, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/*',
      reason: 'INC-13 deploy',
      duration: '1h',
    });
    expect(grant.json.status, grant.text).toBe('approved');
    const made = await mint('alice', 'production');
    expect((await vault(made.token, 'production')).json.data.data.STRIPE_KEY).toBe('sk_production_4242');
    const ended = await api(server, t.frank!, 'POST', `/api/access/requests/${grant.json.id}/revoke`, {
      reason: 'incident over',
    });
    expect(ended.status, ended.text).toBe(200);
    // A new grant does not bring back a token bound to the revoked one.
    expect(
      (
        await api(server, t.alice!, 'POST', '/api/access/requests', {
          secret: 'production/payments-api/*',
          reason: 'again',
          duration: '1h',
        })
      ).json.status,
    ).toBe('approved');
    expect(await vault(made.token, 'production')).toEqual({ status: 403, json: { errors: ['permission denied'] } });
    const row = (await api(server, t.alice!, 'GET', '/api/secrets/tokens?env=production')).json.items.find(
      (x: any) => x.id === made.id,
    );
    expect(row).toMatchObject({ status: 'revoked', revokedBy: 'system:access-lost' });
  });

  it('a token ends when its creator leaves the owning team (catalog change), refused on its next use and audited', async () => {
    const made = await mint('bob');
    expect((await vault(made.token)).status).toBe(200);
    // bob moves from payments to identity; the admin refreshes the catalog.
    writeFileSync(
      orgPath,
      readFileSync(orgPath, 'utf8').replace(/(name: bob\n[\s\S]*?memberOf: )\[payments\]/, '$1[identity]'),
    );
    const refresh = await api(server, server.adminToken, 'POST', '/api/catalog/idp/refresh');
    expect(refresh.status, refresh.text).toBe(200);
    const me = (await api(server, t.bob!, 'GET', '/api/whoami')).json;
    expect(me.teams).toContain('identity');
    expect(me.teams).not.toContain('payments');

    expect(await vault(made.token)).toEqual({ status: 403, json: { errors: ['permission denied'] } });
    const row = (await api(server, t.bob!, 'GET', '/api/secrets/tokens')).json.items.find((x: any) => x.id === made.id);
    expect(row).toMatchObject({ status: 'revoked', revokedBy: 'system:access-lost' });
    const reads = await audit('secret:read');
    const denial = reads.find((r) => r.actor === `workload:${made.id}` && r.decision === 'deny');
    expect(denial?.details.reason).toMatch(
      /its creator user:default\/bob may no longer issue workload tokens for staging\/payments-api/,
    );
    const revocation = (await audit('secret:token:revoke')).find((r) => r.target === `workload-token:${made.id}`);
    expect(revocation).toMatchObject({ actor: 'system:access-lost', decision: 'allow' });
    // Ended for good: moving bob back does not revive it.
    writeFileSync(
      orgPath,
      readFileSync(orgPath, 'utf8').replace(/(name: bob\n[\s\S]*?memberOf: )\[identity\]/, '$1[payments]'),
    );
    await api(server, server.adminToken, 'POST', '/api/catalog/idp/refresh');
    expect((await vault(made.token)).status).toBe(403);
    expect(await server.alive()).toBe(true);
  });
});
