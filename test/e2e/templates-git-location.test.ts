import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { startGitHttp, type GitHttp } from '../support/git-http.ts';
import { pushFiles } from '../support/git-repo.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { waitForTask } from '../support/templates.ts';
import { userTokens } from '../support/tokens.ts';

// A Backstage template kept in a git repository, as Backstage's users keep theirs: a Location
// entity at the repository's root lists templates/*/template.yaml, each with a skeleton folder
// beside it. Registered by a developer (not an admin) as a git location over HTTP, its
// fetch:template and fetch:plain steps read ./skeleton from the repository at the registered
// branch's head, under the fetch rules of that location; a template read from a plain URL says
// how to register it instead.

const template = (name: string, extra = '') => `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ${name}
  title: ${name}
spec:
  owner: group:default/payments
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: { type: string, pattern: '^[a-z][a-z0-9-]*$' }
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: \${{ parameters.name }}
    - id: docs
      action: fetch:plain
      input:
        url: ../../shared/docs
        targetPath: docs
${extra}`;

const LOCATION = `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: golden-paths
spec:
  targets:
    - ./templates/web/template.yaml
`;

describe('templates registered from a git location', () => {
  let server: TestServer;
  let gitHttp: GitHttp;
  let urlServer: Server;
  let urlBase = '';
  let t: Record<string, string>;
  const root = mkdtempSync(join(tmpdir(), 'idp-tpl-git-'));
  const bare = join(root, 'acme', 'golden-paths.git');

  const call = (who: string, method: string, path: string, body?: unknown) => api(server, t[who]!, method, path, body);
  const dryRun = (name: string, values: Record<string, unknown>) =>
    call('alice', 'POST', `/api/templates/${name}/tasks`, { values, dryRun: true });
  const files = (res: { json: any }) =>
    Object.fromEntries((res.json.files as any[]).map((f) => [f.path, f.content])) as Record<string, string>;

  beforeAll(async () => {
    pushFiles(bare, {
      'catalog-info.yaml': LOCATION,
      'templates/web/template.yaml': template('web'),
      'templates/web/skeleton/README.md': '# ${{ values.name }}\n',
      'templates/web/skeleton/src/${{ values.name }}.js': "export const name = '${{ values.name }}';\n",
      'shared/docs/guide.md': 'Read me as I am: ${{ not rendered }}\n',
    });
    pushFiles(
      bare,
      {
        'catalog-info.yaml': LOCATION.replace('golden-paths', 'golden-paths-next'),
        'templates/web/template.yaml': template('web-next'),
        'templates/web/skeleton/README.md': '# ${{ values.name }} (next)\n',
        'shared/docs/guide.md': 'next guide\n',
      },
      'next',
    );
    gitHttp = await startGitHttp(root);
    urlServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/yaml' }).end(template('from-url'));
    });
    await new Promise<void>((r) => urlServer.listen(0, '127.0.0.1', () => r()));
    urlBase = `http://127.0.0.1:${(urlServer.address() as { port: number }).port}`;
    server = await startTestServer({
      catalogTimer: false,
      environmentTimers: false,
      configPath: acmeConfigAllowing('templates-git-location', ['127.0.0.1']),
    });
    t = await userTokens(server, ['alice', 'bob']);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await gitHttp?.close();
    await new Promise<void>((r) => (urlServer ? urlServer.close(() => r()) : r()));
    rmSync(root, { recursive: true, force: true });
  });

  it('a developer registers the repository; its template fetches ./skeleton and a shared folder from it', async () => {
    const reg = await call('bob', 'POST', '/api/catalog/idp/locations', {
      target: `${gitHttp.url}acme/golden-paths.git`,
      type: 'git',
    });
    expect(reg.status, reg.text).toBe(201);
    const shown = await call('alice', 'GET', '/api/templates/web');
    expect(shown.status, shown.text).toBe(200);

    const res = await dryRun('web', { name: 'orders' });
    expect(res.status, res.text).toBe(200);
    expect(files(res)).toEqual({
      'README.md': '# orders\n',
      'src/orders.js': "export const name = 'orders';\n",
      'docs/guide.md': 'Read me as I am: ${{ not rendered }}\n',
    });

    // A real task: the steps' log says what was written; no clone is left behind.
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('idp-git-')).length;
    const task = await call('alice', 'POST', '/api/templates/web/tasks', { values: { name: 'orders' } });
    expect(task.status, task.text).toBe(202);
    const done = await waitForTask(server, t.alice!, task.json.id, ['completed', 'failed']);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const log = await call('alice', 'GET', `/api/tasks/${task.json.id}/logs`);
    expect(log.text).toContain('fetch:template: 2 files written to .');
    expect(log.text).toContain('fetch:plain: 1 file written to docs');
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('idp-git-')).length).toBeLessThanOrEqual(before);
  });

  it("a location naming a branch reads that branch's skeleton; a push shows at the next run", async () => {
    const reg = await call('bob', 'POST', '/api/catalog/idp/locations', {
      target: `git+${gitHttp.url}acme/golden-paths.git#next`,
    });
    expect(reg.status, reg.text).toBe(201);
    let res = await dryRun('web-next', { name: 'cart' });
    expect(res.status, res.text).toBe(200);
    expect(files(res)).toMatchObject({ 'README.md': '# cart (next)\n', 'docs/guide.md': 'next guide\n' });

    pushFiles(
      bare,
      {
        'catalog-info.yaml': LOCATION.replace('golden-paths', 'golden-paths-next'),
        'templates/web/template.yaml': template('web-next'),
        'templates/web/skeleton/README.md': '# ${{ values.name }} (pushed)\n',
        'shared/docs/guide.md': 'next guide\n',
      },
      'next',
    );
    res = await dryRun('web-next', { name: 'cart' });
    expect(files(res)['README.md']).toBe('# cart (pushed)\n');
  });

  it('a template read from a URL (one file) fails its fetch step saying how to register it', async () => {
    const reg = await call('bob', 'POST', '/api/catalog/idp/locations', { target: `${urlBase}/template.yaml` });
    expect(reg.status, reg.text).toBe(201);
    const res = await dryRun('from-url', { name: 'x' });
    expect(res.json.steps[0]).toMatchObject({ status: 'failed' });
    expect(JSON.stringify(res.json)).toContain('TEMPLATE_ACTION_NOT_CONFIGURED');
    expect(JSON.stringify(res.json)).toMatch(/register it from its git repository/);
  });

  it('the repository gone: the step fails with a clear error, nothing written', async () => {
    const moved = join(root, 'acme', 'moved.git');
    rmSync(moved, { recursive: true, force: true });
    const { renameSync } = await import('node:fs');
    renameSync(bare, moved);
    try {
      const res = await dryRun('web', { name: 'orders' });
      expect(res.json.files ?? []).toEqual([]);
      expect(JSON.stringify(res.json)).toMatch(/TEMPLATE_ACTION_FAILED.*could not clone/);
    } finally {
      renameSync(moved, bare);
    }
  });
});
