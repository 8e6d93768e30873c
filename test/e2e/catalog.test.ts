import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';

const component = (name: string, extra = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:payments\n${extra}`;

describe('catalog ingestion through the API', () => {
  let server: TestServer;
  let alice: string;
  const dir = mkdtempSync(join(tmpdir(), 'idp-catalog-e2e-'));
  let http: Server;
  let httpUrl = '';
  const served: Record<string, string> = {};

  beforeAll(async () => {
    // The test's HTTP server is on loopback: allow-listed, as an admin would for an intranet host.
    server = await startTestServer({
      catalogTimer: false,
      configPath: acmeConfigAllowing('catalog-e2e', ['127.0.0.1']),
    });
    alice = (await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'alice@company.com' })).json.token;
    http = createServer((req, res) => {
      const body = served[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/yaml' }).end(body ?? 'not found');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await server?.stop();
    http?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const register = (token: string, target: string, extra: Record<string, unknown> = {}) =>
    api(server, token, 'POST', '/api/catalog/idp/locations', { target, ...extra });

  it('reports YAML errors with their line and invalid entities, and stores the valid ones', async () => {
    const folder = join(dir, 'mixed');
    mkdirSync(join(folder, 'a'), { recursive: true });
    mkdirSync(join(folder, 'b'), { recursive: true });
    writeFileSync(
      join(folder, 'a/catalog-info.yaml'),
      `${component('ledger')}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Bad Name!\nspec: {type: service, lifecycle: x, owner: me}\n`,
    );
    writeFileSync(
      join(folder, 'b/catalog-info.yaml'),
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\n  tags: [unclosed\n',
    );
    const res = await register(server.adminToken, folder);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ added: 1, errors: 2 });
    const errors = (await api(server, alice, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)).json
      .items;
    expect(errors).toHaveLength(2);
    const yamlError = errors.find((e: any) => e.file?.endsWith('b/catalog-info.yaml'));
    expect(yamlError.line).toBeGreaterThan(0);
    expect(errors.some((e: any) => /name/i.test(e.message) && e.file?.endsWith('a/catalog-info.yaml'))).toBe(true);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=ledger')).status).toBe(200);
  });

  it('keeps the first claim on an entity ref and reports the conflict', async () => {
    const other = join(dir, 'conflict');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'catalog-info.yaml'), component('ledger', '  system: stolen\n'));
    const res = await register(server.adminToken, other);
    expect(res.json).toMatchObject({ added: 0, errors: 1 });
    const ledger = (await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=ledger')).json;
    expect(ledger.spec.system).toBeUndefined();
    const errors = (await api(server, alice, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)).json
      .items;
    expect(errors[0].message).toMatch(/component:default\/ledger/);
  });

  it('removes entities that vanished from their location, with their relations', async () => {
    const folder = join(dir, 'vanish');
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'catalog-info.yaml'),
      `${component('temp-a', '  dependsOn: [component:users-api]\n')}---\n${component('temp-b')}`,
    );
    const res = await register(server.adminToken, folder);
    expect(res.json.added).toBe(2);
    writeFileSync(join(folder, 'catalog-info.yaml'), component('temp-b'));
    const again = await api(
      server,
      server.adminToken,
      'POST',
      `/api/catalog/idp/locations/${res.json.location.id}/refresh`,
    );
    expect(again.json).toMatchObject({ removed: 1, unchanged: 1 });
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=temp-a')).status).toBe(404);
    const impact = (await api(server, alice, 'GET', '/api/catalog/idp/impact?ref=users-api')).json;
    expect(impact.dependents.map((d: any) => d.ref)).not.toContain('component:default/temp-a');
  });

  it('reads http(s) URLs and git repositories; an unreachable URL is a clear error and stores nothing', async () => {
    served['/svc/catalog-info.yaml'] = component('from-url');
    const url = await register(alice, `${httpUrl}/svc/catalog-info.yaml`);
    expect(url.status).toBe(201);
    expect(url.json.added).toBe(1);

    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'svc'), { recursive: true });
    writeFileSync(join(repo, 'svc/catalog-info.yaml'), component('from-git'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'catalog');
    const viaGit = await register(server.adminToken, repo, { type: 'git' });
    expect(viaGit.status).toBe(201);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=from-git')).status).toBe(200);

    const before = (await api(server, alice, 'GET', '/api/catalog/idp/locations')).json.items.length;
    const down = await register(alice, `${httpUrl}/missing/catalog-info.yaml`);
    expect(down.status).toBe(502);
    expect(down.json.error.code).toBe('CATALOG_LOCATION_UNREACHABLE');
    expect((await api(server, alice, 'GET', '/api/catalog/idp/locations')).json.items.length).toBe(before);
  });

  it('lets only admins register server-side paths, audited either way', async () => {
    const res = await register(alice, join(dir, 'mixed'));
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('POLICY_DENIED');
    const audit = (await api(server, server.adminToken, 'GET', '/api/audit?action=catalog:*')).json.items;
    expect(audit.map((r: any) => `${r.action}:${r.decision}`)).toEqual(
      expect.arrayContaining(['catalog:register:deny', 'catalog:register:allow', 'catalog:refresh:allow']),
    );
  });

  it('terminates on dependency cycles and marks them', async () => {
    const folder = join(dir, 'cycle');
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'catalog-info.yaml'),
      `${component('cyc-a', '  dependsOn: [component:cyc-b]\n')}---\n${component('cyc-b', '  dependsOn: [component:cyc-a, component:ghost]\n')}`,
    );
    await register(server.adminToken, folder);
    const deps = (await api(server, alice, 'GET', '/api/catalog/idp/deps?ref=cyc-a&depth=10')).json;
    const b = deps.root.children.find((c: any) => c.ref === 'component:default/cyc-b');
    expect(b.children.find((c: any) => c.ref === 'component:default/cyc-a').cycle).toBe(true);
    expect(b.children.find((c: any) => c.ref === 'component:default/ghost').missing).toBe(true);
    const impact = (await api(server, alice, 'GET', '/api/catalog/idp/impact?ref=cyc-a')).json;
    expect(impact.dependents.map((d: any) => d.ref)).toContain('component:default/cyc-b');
    expect(impact.cycles.length).toBeGreaterThan(0);
  });

  it('pages entity lists on the server', async () => {
    const first = (await api(server, alice, 'GET', '/api/catalog/idp/entities?kind=user&limit=4')).json;
    expect(first.items).toHaveLength(4);
    expect(first.totalItems).toBe(6);
    const second = (
      await api(
        server,
        alice,
        'GET',
        `/api/catalog/idp/entities?limit=4&cursor=${encodeURIComponent(first.nextCursor)}`,
      )
    ).json;
    expect(second.items.map((e: any) => e.metadata.name)).toEqual(['erin', 'frank']);
    expect(second.nextCursor).toBeNull();
    const owned = (await api(server, alice, 'GET', '/api/catalog/idp/entities?owner=identity&kind=component')).json;
    expect(owned.items.map((e: any) => e.metadata.name).sort()).toEqual(['auth-service', 'users-api']);
  });

  it('follows team changes into identity and the policy gate', async () => {
    const folder = join(dir, 'people');
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'catalog-info.yaml'),
      'apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: gina}\nspec:\n  profile: {email: gina@company.com}\n  memberOf: [platform]\n',
    );
    await register(server.adminToken, folder);
    const token = (await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'gina@company.com' })).json
      .token;
    expect((await api(server, token, 'GET', '/api/whoami')).json.roles).toContain('admin');
    expect((await api(server, token, 'GET', '/api/teams/platform')).json.members.map((m: any) => m.ref)).toContain(
      'user:default/gina',
    );
  });
});
