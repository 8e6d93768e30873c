import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { ACME_CONFIG, api } from '../support/server.ts';

/**
 * Issue 10, item 2: a developer registers a URL location whose YAML makes them a platform admin
 * (a Group under `platform` with them as member, a User of theirs in `platform`, a Group named
 * `platform`, the same behind a nested Location). Users, Groups and memberships come only from
 * identity sources, so each is refused with CATALOG_IDENTITY_UNTRUSTED and nothing changes who
 * is an admin. An admin's identity location works; admin changes are audited; a user who
 * leaves the directory loses their tokens for good.
 */
const yaml = {
  group: (name: string, spec: string) =>
    `apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: ${name}\nspec:\n  type: team\n${spec.includes('children:') ? '' : '  children: []\n'}${spec}`,
  user: (name: string, memberOf: string[]) =>
    `apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ${name}\nspec:\n  profile:\n    email: ${name}@company.com\n  memberOf: [${memberOf.join(', ')}]\n`,
  component: (name: string) =>
    `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:payments\n`,
  location: (target: string) =>
    `apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: nested-${Math.random().toString(36).slice(2, 8)}\nspec:\n  type: url\n  target: ${target}\n`,
};

/**
 * ACME_CONFIG, with the demo organisation (org.yaml: who is who) as its only location, read
 * directly rather than through the catalog root's nested Location, so this test depends on
 * nothing but identity. The attacker's catalog server is on loopback, so it is allow-listed
 * (catalog fetching refuses loopback otherwise): the attack is the documents, not the address.
 */
function identityConfig(): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'idp-sec02-'));
  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.setIn(['catalog', 'locations'], [join(dirname(ACME_CONFIG), 'catalog/org.yaml')]);
  doc.setIn(['catalog', 'fetch', 'allowHosts'], ['127.0.0.1']);
  const path = join(dir, 'idp.config.yaml');
  writeFileSync(path, doc.toString());
  return { path, dir };
}

describe('security 02: identity comes only from identity sources', () => {
  let server: HostileServer;
  let http: Server;
  let base = '';
  let cfgDir = '';
  let alice = '';
  const served: Record<string, string> = {};

  beforeAll(async () => {
    http = createServer((req, res) => {
      const body = served[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/yaml' }).end(body ?? 'not found');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const cfg = identityConfig();
    cfgDir = cfg.dir;
    server = await startHostileServer({ args: ['--config', cfg.path] });
    alice = await server.tokenFor('alice');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => http?.close(r));
    rmSync(cfgDir, { recursive: true, force: true });
  });

  const as = (token: string, method: string, path: string, body?: unknown) => api(server, token, method, path, body);

  async function expectNotAdmin(): Promise<void> {
    const me = (await as(alice, 'GET', '/api/whoami')).json;
    expect(me.roles).not.toContain('admin');
    expect(me.teams).not.toContain('platform');
    const forged = await as(alice, 'POST', '/api/tokens', { user: 'bob@company.com' });
    expect(forged.status).toBe(403);
    expect(forged.json.error.code).toBe('POLICY_DENIED');
    expect(forged.text).not.toMatch(/idp_[A-Za-z0-9_-]{20,}/);
    const platform = (await as(server.adminToken, 'GET', '/api/teams/platform')).json;
    expect(platform.members.map((m: any) => m.ref)).toEqual(['user:default/frank']);
  }

  const attacks: [string, string, string[]][] = [
    [
      'a Group under platform with alice as member',
      `${yaml.group('shadow-admins', '  parent: platform\n  members: [alice]\n')}---\n${yaml.component('alice-widget')}`,
      ['group:default/shadow-admins'],
    ],
    [
      'a User alice in platform, and a new user',
      `${yaml.user('alice', ['platform'])}---\n${yaml.user('mallory', ['platform'])}`,
      ['user:default/alice', 'user:default/mallory'],
    ],
    [
      'a Group named platform',
      yaml.group('platform', '  members: [alice]\n  children: [payments]\n'),
      ['group:default/platform'],
    ],
    [
      'a Group that adopts payments as its child',
      yaml.group('adopter', '  parent: platform\n  children: [payments]\n'),
      ['group:default/adopter'],
    ],
  ];

  for (const [name, body, refused] of attacks) {
    it(`refuses ${name} from a developer's URL location`, async () => {
      const path = `/${refused[0]!.replace(/[:/]/g, '-')}.yaml`;
      served[path] = body;
      const res = await as(alice, 'POST', '/api/catalog/idp/locations', { target: `${base}${path}` });
      expect(res.status, res.text).toBe(201);
      expect(res.json.location.identitySource).toBe(false);
      expect(res.json.location.createdBy).toBe('user:default/alice');
      expect(res.json.errors).toBe(refused.length);
      expect(res.json.location.lastError).toContain('CATALOG_IDENTITY_UNTRUSTED');
      const errors = (await as(alice, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)).json.items;
      expect(errors.map((e: any) => e.entityRef).sort()).toEqual(refused);
      for (const e of errors)
        expect(e.message).toMatch(/^CATALOG_IDENTITY_UNTRUSTED: .* come only from identity sources/);
      await expectNotAdmin();
    });
  }

  it('keeps the other entities of the location (a Component still loads)', async () => {
    const comp = await as(alice, 'GET', '/api/catalog/idp/entity?ref=component:alice-widget');
    expect(comp.status).toBe(200);
    expect((await as(alice, 'GET', '/api/catalog/idp/entity?ref=group:shadow-admins')).status).toBe(404);
  });

  it('refuses the same Group behind a nested Location, and through the Backstage API', async () => {
    served['/deep.yaml'] = yaml.group('deep-admins', '  parent: platform\n  members: [alice]\n');
    served['/outer.yaml'] = yaml.location(`${base}/deep.yaml`);
    const res = await as(alice, 'POST', '/api/catalog/idp/locations', { target: `${base}/outer.yaml` });
    expect(res.status, res.text).toBe(201);
    const errors = (await as(alice, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)).json.items;
    expect(errors.map((e: any) => e.entityRef)).toEqual(['group:default/deep-admins']);
    served['/bs.yaml'] = yaml.group('bs-admins', '  parent: platform\n  members: [alice]\n');
    const bs = await as(alice, 'POST', '/api/catalog/locations', { type: 'url', target: `${base}/bs.yaml` });
    expect(bs.status, bs.text).toBe(201);
    expect((await as(alice, 'GET', '/api/catalog/idp/entity?ref=group:bs-admins')).status).toBe(404);
    await expectNotAdmin();
  });

  it('lets no developer make or mark an identity source (denials audited)', async () => {
    served['/ask.yaml'] = yaml.group('asked-admins', '  parent: platform\n  members: [alice]\n');
    const asked = await as(alice, 'POST', '/api/catalog/idp/locations', {
      target: `${base}/ask.yaml`,
      identitySource: true,
    });
    expect(asked.status).toBe(403);
    expect(asked.json.error.code).toBe('CATALOG_IDENTITY_UNTRUSTED');
    expect(
      (await as(server.adminToken, 'GET', '/api/catalog/idp/locations')).json.items.some((l: any) =>
        l.target.endsWith('/ask.yaml'),
      ),
    ).toBe(false);
    const mine = (await as(alice, 'GET', '/api/catalog/idp/locations')).json.items.find((l: any) =>
      l.target.endsWith('/outer.yaml'),
    );
    const mark = await as(alice, 'PUT', `/api/catalog/idp/locations/${mine.id}/identity-source`, {
      identitySource: true,
    });
    expect(mark.status).toBe(403);
    expect(mark.json.error.code).toBe('POLICY_DENIED');
    const denials = (await as(server.adminToken, 'GET', '/api/audit?action=catalog:identity-source&decision=deny')).json
      .items;
    expect(denials.filter((d: any) => d.actor === 'user:default/alice')).toHaveLength(2);
    await expectNotAdmin();
    expect(await server.alive()).toBe(true);
  });

  it('an admin-registered identity location works; admin changes are audited', async () => {
    served['/people.yaml'] = `${yaml.user('gina', ['platform'])}---\n${yaml.user('henry', ['payments'])}`;
    const res = await as(server.adminToken, 'POST', '/api/catalog/idp/locations', { target: `${base}/people.yaml` });
    expect(res.status, res.text).toBe(201);
    expect(res.json.location.identitySource).toBe(true);
    expect(res.json.errors).toBe(0);
    const gina = await server.tokenFor('gina');
    const me = (await as(gina, 'GET', '/api/whoami')).json;
    expect(me.roles).toContain('admin');
    const changes = (await as(server.adminToken, 'GET', '/api/audit?action=identity:admins-changed')).json.items;
    expect(changes[0].details.added).toEqual(['user:default/gina']);
    expect(changes[0].actor).toBe('user:default/idp-admin');
  });

  it('an admin marks a developer location: its Users load then', async () => {
    served['/ivan.yaml'] = yaml.user('ivan', ['payments']);
    const reg = await as(alice, 'POST', '/api/catalog/idp/locations', { target: `${base}/ivan.yaml` });
    expect(reg.json.errors).toBe(1);
    expect((await as(server.adminToken, 'POST', '/api/tokens', { user: 'ivan@company.com' })).json.error.code).toBe(
      'USER_NOT_FOUND',
    );
    const mark = await as(
      server.adminToken,
      'PUT',
      `/api/catalog/idp/locations/${reg.json.location.id}/identity-source`,
      { identitySource: true },
    );
    expect(mark.status, mark.text).toBe(200);
    expect(mark.json.location.identitySource).toBe(true);
    expect(mark.json.errors).toBe(0);
    expect((await as(server.adminToken, 'POST', '/api/tokens', { user: 'ivan@company.com' })).status).toBe(201);
  });

  it("revokes a removed user's tokens for good: registering the User again does not revive them", async () => {
    const loc = (await as(server.adminToken, 'GET', '/api/catalog/idp/locations')).json.items.find((l: any) =>
      l.target.endsWith('/people.yaml'),
    );
    const henry = await server.tokenFor('henry');
    const gina = await server.tokenFor('gina');
    expect((await as(henry, 'GET', '/api/whoami')).status).toBe(200);

    served['/people.yaml'] = yaml.user('henry', ['payments']); // gina leaves
    expect((await as(server.adminToken, 'POST', `/api/catalog/idp/locations/${loc.id}/refresh`)).json.removed).toBe(1);
    const gone = await as(gina, 'GET', '/api/whoami');
    expect(gone.status).toBe(401);
    expect(gone.json.error.code).toBe('TOKEN_REVOKED');
    const removed = (await as(server.adminToken, 'GET', '/api/audit?action=identity:user-removed')).json.items;
    expect(removed[0].target).toBe('user:default/gina');
    expect(removed[0].details.revokedTokens.length).toBeGreaterThanOrEqual(2);
    const demoted = (await as(server.adminToken, 'GET', '/api/audit?action=identity:admins-changed')).json.items;
    expect(demoted[0].details.removed).toEqual(['user:default/gina']);

    served['/people.yaml'] = `${yaml.user('gina', ['platform'])}---\n${yaml.user('henry', ['payments'])}`; // gina is back
    expect((await as(server.adminToken, 'POST', `/api/catalog/idp/locations/${loc.id}/refresh`)).json.added).toBe(1);
    const still = await as(gina, 'GET', '/api/whoami');
    expect(still.status).toBe(401);
    expect(still.json.error.code).toBe('TOKEN_REVOKED');
    expect((await as(henry, 'GET', '/api/whoami')).status).toBe(200); // henry never left
    const tokens = (await as(server.adminToken, 'GET', '/api/tokens')).json.items.filter(
      (t: any) => t.user === 'user:default/gina',
    );
    expect(tokens.every((t: any) => t.status === 'revoked')).toBe(true);
    const fresh = await server.tokenFor('gina');
    expect((await as(fresh, 'GET', '/api/whoami')).json.roles).toContain('admin');
    expect(await server.alive()).toBe(true);
  });
});
