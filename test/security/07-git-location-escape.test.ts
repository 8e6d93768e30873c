import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { startGitHttp, type GitHttp } from '../support/git-http.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api } from '../support/server.ts';

const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const component = (name: string) =>
  doc('Component', name, '  type: service\n  lifecycle: production\n  owner: group:payments\n');
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, stdio: 'pipe' });

describe('security 07: git locations cannot import server files', () => {
  let server: HostileServer;
  let alice = '';
  let http: GitHttp | undefined;
  let base = '';
  const work = mkdtempSync(join(tmpdir(), 'idp-sec07-'));
  const SERVER_SECRET = `server-side-secret-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    server = await startHostileServer({ args: ['--config', acmeConfigAllowing('sec-07', ['127.0.0.1'])] });
    alice = await server.tokenFor('alice');

    // On the server's disk: a catalog file and a git repository holding a secret-bearing entity.
    const serverFiles = join(work, 'server-files');
    mkdirSync(join(serverFiles, 'repo'), { recursive: true });
    writeFileSync(join(serverFiles, 'catalog-info.yaml'), component(`file-${SERVER_SECRET}`));
    writeFileSync(join(serverFiles, 'repo/catalog-info.yaml'), component(`localgit-${SERVER_SECRET}`));
    git(join(serverFiles, 'repo'), 'init', '-q');
    git(join(serverFiles, 'repo'), 'add', '.');
    git(join(serverFiles, 'repo'), 'commit', '-qm', 'x');

    // Alice's repository: a catalog-info.yaml that is a symlink to the admin token, a symlinked
    // folder to the server's files, and nested Locations aimed at the server's disk.
    const repo = join(work, 'alice');
    mkdirSync(join(repo, 'svc'), { recursive: true });
    symlinkSync(join(server.dataDir, 'admin-token'), join(repo, 'catalog-info.yaml'));
    symlinkSync(serverFiles, join(repo, 'linked'));
    writeFileSync(
      join(repo, 'svc/catalog-info.yaml'),
      [
        component('git-ok'),
        doc('Location', 'to-file', `  type: file\n  target: ${join(serverFiles, 'catalog-info.yaml')}\n`),
        doc('Location', 'to-local-git', `  type: git\n  target: ${join(serverFiles, 'repo')}\n`),
        doc('Location', 'through-link', '  type: file\n  target: ../linked/catalog-info.yaml\n'),
        doc('Location', 'up-and-out', '  type: file\n  target: ../../../../../../etc/passwd\n'),
      ].join('---\n'),
    );
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'x');
    const root = join(work, 'served');
    mkdirSync(root);
    for (const name of ['alice.git', 'admin.git']) git(work, 'clone', '-q', '--bare', repo, join(root, name));

    http = await startGitHttp(root);
    base = http.url.replace(/\/$/, '');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await http?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("a developer's git location: symlinks out of the clone and nested server paths are refused, naming the rule", async () => {
    const res = await api(server, alice, 'POST', '/api/catalog/idp/locations', {
      target: `${base}/alice.git`,
      type: 'git',
    });
    expect(res.status, res.text).toBe(201);
    const errors = (await api(server, alice, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)).json
      .items as { message: string }[];
    const messages = errors.map((e) => e.message).join('\n');
    expect(messages).toMatch(/catalog-info\.yaml is a symbolic link that leads out of the repository/);
    expect(messages).toMatch(/linked\/catalog-info\.yaml is a symbolic link that leads out of the repository/);
    // A file target in a git location is a path inside the clone: absolute or ../ ones point outside it.
    expect(messages).toMatch(/file target \/\S+\/server-files\/catalog-info\.yaml points outside the repository/);
    expect(messages).toMatch(/file target \.\.\/\.\.\/\S+etc\/passwd points outside the repository/);
    expect(messages).toMatch(
      /git target \S+\/server-files\/repo is on the server's disk: only locations from the config or registered by a platform admin/,
    );
    // The ordinary entity loads; nothing from the server's disk does, and no secret is in any answer.
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=git-ok')).status).toBe(200);
    const everything = JSON.stringify([
      res.json,
      errors,
      (await api(server, alice, 'GET', '/api/catalog/idp/entities?limit=500')).json,
    ]);
    for (const secret of [SERVER_SECRET, server.adminToken, readFileSync('/etc/passwd', 'utf8').split('\n')[0]!])
      expect(everything).not.toContain(secret);
    expect(await server.alive()).toBe(true);
  });

  it('the same repository registered by a platform admin may read nested server paths, but symlinks still never leave the clone', async () => {
    const res = await api(server, server.adminToken, 'POST', '/api/catalog/idp/locations', {
      target: `${base}/admin.git`,
      type: 'git',
    });
    expect(res.status, res.text).toBe(201);
    const errors = (
      await api(server, server.adminToken, 'GET', `/api/catalog/idp/errors?location=${res.json.location.id}`)
    ).json.items as { message: string }[];
    expect(errors.map((e) => e.message).join('\n')).toMatch(
      /catalog-info\.yaml is a symbolic link that leads out of the repository/,
    );
    expect((await api(server, alice, 'GET', `/api/catalog/idp/entity?ref=localgit-${SERVER_SECRET}`)).status).toBe(200);
    expect(JSON.stringify(errors)).not.toContain(server.adminToken);
  });
});
