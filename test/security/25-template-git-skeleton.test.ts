import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { startGitHttp, type GitHttp } from '../support/git-http.ts';
import { pushFiles } from '../support/git-repo.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api } from '../support/server.ts';

// A developer's git repository of templates is untrusted input: fetch:template reads skeletons
// from a fresh clone of it, and must never leave the clone (a `..` url, a skeleton that is a link
// to a host folder, a link inside a skeleton), never believe location annotations the document
// itself declares, and clone only under the fetch rules of the location that registered it, as
// they are when the task runs.

const template = (name: string, url: string, annotations = '') => `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ${name}
${annotations}spec:
  owner: group:default/payments
  type: service
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ${url}
        values: { name: x }
`;

const FORGED = `  annotations:
    backstage.io/managed-by-location: file:/etc/ssl/template.yaml
    backstage.io/managed-by-origin-location: file:/etc
`;

describe('security 25: template skeletons from git stay inside the clone and its fetch rules', () => {
  let server: HostileServer;
  let gitHttp: GitHttp;
  let bob = '';
  const root = mkdtempSync(join(tmpdir(), 'idp-sec25-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-sec25-data-'));

  const dryRun = (name: string) =>
    api(server, bob, 'POST', `/api/templates/${name}/tasks`, { values: {}, dryRun: true });

  beforeAll(async () => {
    const names = ['escape', 'linkdir', 'linkfile', 'forged'];
    pushFiles(join(root, 'hostile.git'), {
      'catalog-info.yaml': `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: hostile }
spec:
  targets: [${names.map((n) => `./templates/${n}/template.yaml`).join(', ')}]
`,
      'templates/escape/template.yaml': template('escape', '../../../../../etc'),
      'templates/linkdir/template.yaml': template('linkdir', './skeleton'),
      'templates/linkdir/skeleton': { link: '/etc' },
      'templates/linkfile/template.yaml': template('linkfile', './skeleton'),
      'templates/linkfile/skeleton/README.md': 'readme',
      'templates/linkfile/skeleton/passwd': { link: '/etc/passwd' },
      'templates/forged/template.yaml': template('forged', './ssl', FORGED),
      'templates/forged/ssl/from-repo.txt': 'from the repository',
    });
    gitHttp = await startGitHttp(root);
    server = await startHostileServer({
      dataDir,
      args: ['--config', acmeConfigAllowing('sec-25', ['127.0.0.1'])],
    });
    bob = await server.tokenFor('bob');
    const reg = await api(server, bob, 'POST', '/api/catalog/idp/locations', {
      target: `${gitHttp.url}hostile.git`,
      type: 'git',
    });
    expect(reg.status, reg.text).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await gitHttp?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  const failure = (res: { json: any; text: string }) => {
    expect(res.json.files ?? []).toEqual([]);
    expect(res.json.steps?.[0]?.status).toBe('failed');
    return res.text;
  };

  it('a url climbing out of the repository is refused before anything is read', async () => {
    const text = failure(await dryRun('escape'));
    expect(text).toContain('TEMPLATE_PATH_UNSAFE');
    expect(text).toContain('leads out of the repository');
    expect(text).not.toMatch(/root:x:0:0/);
  });

  it('a skeleton that is a link to a host folder, or holds a link to a host file, is refused whole', async () => {
    for (const name of ['linkdir', 'linkfile']) {
      const text = failure(await dryRun(name));
      expect(text).toContain('TEMPLATE_PATH_UNSAFE');
      expect(text).toMatch(/symbolic link|link/);
      expect(text).not.toMatch(/root:x:0:0/);
    }
  });

  it("location annotations written in the template itself are replaced by the catalog's: the clone is read", async () => {
    const res = await dryRun('forged');
    expect(res.status, res.text).toBe(200);
    expect(res.json.files).toEqual([
      expect.objectContaining({ path: 'from-repo.txt', content: 'from the repository' }),
    ]);
    expect(res.text).not.toMatch(/BEGIN CERTIFICATE/);
  });

  it('the clone obeys the fetch rules when the task runs: with the host no longer allowed, nothing is fetched', async () => {
    await server.stop();
    server = await startHostileServer({ dataDir, args: ['--config', acmeConfigAllowing('sec-25-closed', [])] });
    bob = await server.tokenFor('bob');
    const shown = await api(server, bob, 'GET', '/api/templates/forged');
    expect(shown.status, shown.text).toBe(200);
    const seen = gitHttp.requests.length;
    const text = failure(await dryRun('forged'));
    expect(text).toContain('TEMPLATE_ACTION_FAILED');
    expect(text).toMatch(/refused or unreachable/);
    expect(gitHttp.requests.length).toBe(seen);
    expect(await server.alive()).toBe(true);
  });
});
