// Template actions are driven by a template's author and a user's values: neither may make them
// read or write outside the task's workspace and the template's folder, follow a link, push to a
// remote the platform did not allow, overwrite someone's branch, or copy without bound.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActionRegistry } from '../../packages/server/src/capabilities/templates/actions/index.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { ACME_CONFIG, api } from '../support/server.ts';
import { actionHarness, type Harness } from '../support/template-actions.ts';
import { waitUntil } from '../support/wait.ts';

const root = mkdtempSync(join(tmpdir(), 'idp-sec21-'));
const allowed = join(root, 'git');
const outside = join(root, 'outside');
mkdirSync(allowed);
mkdirSync(outside);
const registry = createActionRegistry({
  allowedRemotes: [`file://${allowed}/`, 'https://git.example.com/acme/'],
  limits: { maxFiles: 50, maxBytes: 64 * 1024 },
});
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@x', ...args], { cwd, encoding: 'utf8' }).trim();
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('template actions stay inside the workspace and the template folder', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
    h.file('skeleton/ok.txt', 'ok');
  });
  afterEach(async () => {
    await h.close();
  });
  const fetchT = () => registry.get('fetch:template');
  const unsafe = { code: 'TEMPLATE_PATH_UNSAFE' };

  it('targetPath ../x, absolute, or with a backslash is refused and nothing is written outside', async () => {
    for (const targetPath of ['../x', '../../etc', '/tmp/x', 'a/../../x', '..\\x', 'file:/tmp/x'])
      await expect(h.run(fetchT(), { url: './skeleton', targetPath }), targetPath).rejects.toMatchObject(unsafe);
    expect(existsSync(join(h.workspace, '..', 'x'))).toBe(false);
  });

  it('a url that leaves the template folder is refused', async () => {
    for (const url of ['../', '../../', '/etc', './skeleton/../../..'])
      await expect(h.run(fetchT(), { url }), url).rejects.toMatchObject(unsafe);
  });

  it('a skeleton holding a link (to /etc/passwd, to a folder outside, to a file beside it) is refused whole', async () => {
    h.link('skeleton/passwd', '/etc/passwd');
    await expect(h.run(fetchT(), { url: './skeleton' })).rejects.toMatchObject({
      ...unsafe,
      message: expect.stringContaining('passwd in the skeleton is a symbolic link'),
    });
    h.file('skel2/a.txt', 'a');
    h.link('skel2/data', outside);
    await expect(h.run(registry.get('fetch:plain'), { url: './skel2' })).rejects.toMatchObject(unsafe);
    h.file('skel3/a.txt', 'a');
    h.link('skel3/b.txt', 'a.txt');
    await expect(h.run(fetchT(), { url: './skel3' })).rejects.toMatchObject(unsafe);
    // The skeleton folder itself a link (out of the template folder): refused too.
    h.link('linked', outside);
    await expect(h.run(fetchT(), { url: './linked' })).rejects.toMatchObject(unsafe);
    expect(readdirSync(h.workspace)).toEqual([]);
  });

  it('a skeleton holding a .git folder (config with hooks or fsmonitor) is refused', async () => {
    h.file('gitty/.git/config', '[core]\n\tfsmonitor = touch /tmp/pwned\n');
    await expect(h.run(fetchT(), { url: './gitty' })).rejects.toMatchObject(unsafe);
  });

  it('a file or folder name that renders to ../ or an absolute path is refused', async () => {
    h.file('evil/${{ values.name }}.txt', 'x');
    for (const name of ['../../escape', '/tmp/abs', 'a/../../b'])
      await expect(h.run(fetchT(), { url: './evil', values: { name } }), name).rejects.toMatchObject(unsafe);
    expect(existsSync(join(h.workspace, '..', '..', 'escape.txt'))).toBe(false);
  });

  it('a link planted in the workspace is never written through', async () => {
    symlinkSync(outside, join(h.workspace, 'out'));
    await expect(h.run(fetchT(), { url: './skeleton', targetPath: 'out' })).rejects.toMatchObject(unsafe);
    symlinkSync(join(outside, 'target.txt'), join(h.workspace, 'ok.txt'));
    await expect(h.run(fetchT(), { url: './skeleton' })).rejects.toMatchObject(unsafe);
    expect(existsSync(join(outside, 'target.txt'))).toBe(false);
    await expect(
      h.run(registry.get('fs:rename'), { files: [{ from: 'ok.txt', to: 'out/moved.txt' }] }),
    ).rejects.toMatchObject(unsafe);
    await expect(h.run(registry.get('fs:delete'), { files: ['../outside'] })).rejects.toMatchObject(unsafe);
    await expect(h.run(registry.get('fs:rename'), { files: [{ from: '/etc/passwd', to: 'p' }] })).rejects.toMatchObject(
      unsafe,
    );
  });

  it('too many or too large files are refused', async () => {
    for (let i = 0; i < 51; i++) h.file(`many/${i}.txt`, 'x');
    await expect(h.run(fetchT(), { url: './many' })).rejects.toMatchObject({ code: 'TEMPLATE_ACTION_FAILED' });
    h.file('large/a.bin', Buffer.alloc(65 * 1024));
    await expect(h.run(fetchT(), { url: './large' })).rejects.toMatchObject({ code: 'TEMPLATE_ACTION_FAILED' });
    expect(readdirSync(h.workspace)).toEqual([]);
  });
});

describe('publish:git pushes only where the platform allows, never over foreign history', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
    writeFileSync(join(h.workspace, 'a.txt'), 'a');
  });
  afterEach(async () => {
    await h.close();
  });
  const publish = () => registry.get('publish:git');
  const notAllowed = { code: 'TEMPLATE_ACTION_NOT_CONFIGURED' };

  it('remotes outside allowedRemotes are refused before git runs, however they are spelled', async () => {
    for (const remoteUrl of [
      `file://${outside}/x.git`,
      `file://${allowed}/../outside/x.git`,
      `file://${allowed}/a/../../outside/x.git`,
      `file://${allowed}/%2e%2e/outside/x.git`,
      `file://${allowed}/./x.git`,
      `file://${allowed}`,
      `file://${allowed}/`,
      `file://otherhost${allowed}/x.git`,
      `${allowed}/x.git`,
      'https://git.example.com/acme-evil/x.git',
      'https://git.example.com/acme/../other/x.git',
      'https://user:secret@git.example.com/acme/x.git',
      'ssh://git.example.com/acme/x.git',
      'ext::sh -c touch% /tmp/pwned',
      'https://git.example.com/acme/x.git?upload-pack=touch',
    ])
      await expect(h.run(publish(), { remoteUrl }), remoteUrl).rejects.toMatchObject(notAllowed);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a link inside the allowed folder does not lead out', async () => {
    symlinkSync(outside, join(allowed, 'escape'));
    await expect(h.run(publish(), { remoteUrl: `file://${allowed}/escape/x.git` })).rejects.toMatchObject({
      code: 'TEMPLATE_PATH_UNSAFE',
    });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('an existing branch with history idp did not write is left as it was', async () => {
    const bare = join(allowed, 'theirs.git');
    git(root, 'init', '-q', '--bare', bare);
    const work = mkdtempSync(join(tmpdir(), 'idp-sec21-work-'));
    git(work, 'init', '-q');
    writeFileSync(join(work, 'x'), 'theirs');
    git(work, 'add', 'x');
    git(work, 'commit', '-qm', 'theirs');
    git(work, 'push', '-q', bare, 'HEAD:refs/heads/main');
    const before = git(bare, 'rev-parse', 'main');
    await expect(h.run(publish(), { remoteUrl: `file://${bare}` })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
    });
    expect(git(bare, 'rev-parse', 'main')).toBe(before);
    rmSync(work, { recursive: true, force: true });
  });

  it('an existing folder that is not a repository is not taken over', async () => {
    mkdirSync(join(allowed, 'notrepo.git'));
    writeFileSync(join(allowed, 'notrepo.git', 'data'), 'x');
    await expect(h.run(publish(), { remoteUrl: `file://${allowed}/notrepo.git` })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
    });
  });

  it('idp:deploy reads only from allowed remotes', async () => {
    const deploy = createActionRegistry({ allowedRemotes: [`file://${allowed}/`] }).get('idp:deploy');
    await expect(
      h.run(deploy, { service: 'x', env: 'y', repoUrl: `git+file://${root}/../etc#main` }),
    ).rejects.toMatchObject(notAllowed);
    await expect(h.run(deploy, { service: 'x', env: 'y', sourcePath: '../outside' })).rejects.toMatchObject({
      code: 'TEMPLATE_PATH_UNSAFE',
    });
  });
});

/** A template of one step, registered from the config's catalog (a file location, as admins do). */
const template = (name: string, action: string, input: string) => `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ${name}
spec:
  owner: group:payments
  type: service
  parameters:
    - properties:
        target: {type: string, default: './'}
        name: {type: string, default: 'x'}
        remote: {type: string, default: ''}
  steps:
    - id: step
      name: the step
      action: ${action}
      input:
${input}
`;

describe('through the API: a task whose template or values try to escape fails at that step, nothing escapes', () => {
  let server: HostileServer;
  let alice = '';
  const work = mkdtempSync(join(tmpdir(), 'idp-sec21-api-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-sec21-data-'));
  const shared = join(work, 'git');
  const templates = join(work, 'templates');

  beforeAll(async () => {
    mkdirSync(shared);
    const put = (path: string, text: string) => {
      mkdirSync(join(templates, path, '..'), { recursive: true });
      writeFileSync(join(templates, path), text);
    };
    const fetchInput = `        url: ./skeleton\n        targetPath: '\${{ parameters.target }}'\n        values: {name: '\${{ parameters.name }}'}`;
    put('target/catalog-info.yaml', template('sec21-target', 'fetch:template', fetchInput));
    put('target/skeleton/${{ values.name }}.txt', 'hello ${{ values.name }}');
    put('passwd/catalog-info.yaml', template('sec21-passwd', 'fetch:plain', '        url: ./skeleton'));
    put('passwd/skeleton/ok.txt', 'ok');
    symlinkSync('/etc/passwd', join(templates, 'passwd/skeleton/passwd'));
    put('datadir/catalog-info.yaml', template('sec21-datadir', 'fetch:template', '        url: ./skeleton'));
    put('datadir/skeleton/ok.txt', 'ok');
    symlinkSync(dataDir, join(templates, 'datadir/skeleton/data'));
    put(
      'remote/catalog-info.yaml',
      template('sec21-remote', 'publish:git', "        remoteUrl: '${{ parameters.remote }}'"),
    );
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(
      ['catalog', 'locations'],
      [...(doc.getIn(['catalog', 'locations']) as { toJSON(): string[] }).toJSON(), templates],
    );
    doc.setIn(['templates', 'publish', 'git', 'allowedRemotes'], [`file://${shared}/`]);
    const config = join(dirname(ACME_CONFIG), 'idp.sec-21.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startHostileServer({ args: ['--config', config], dataDir });
    alice = await server.tokenFor('alice');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function runTask(name: string, values: Record<string, unknown>) {
    const res = await api(server, alice, 'POST', `/api/templates/${name}/tasks`, { values });
    expect(res.status, res.text).toBe(202);
    const id = res.json.id as string;
    return waitUntil(`task ${id} to end`, async () => {
      const t = await api(server, alice, 'GET', `/api/tasks/${id}`);
      return ['failed', 'completed', 'cancelled'].includes(t.json.status) ? t.json : undefined;
    });
  }

  it('targetPath ../ and a file name rendered to ../ fail the step with TEMPLATE_PATH_UNSAFE', async () => {
    for (const values of [{ target: '../escape' }, { target: '/tmp' }, { name: '../../escape' }]) {
      const task = await runTask('sec21-target', values);
      expect(task, JSON.stringify(values)).toMatchObject({
        status: 'failed',
        error: { code: 'TEMPLATE_PATH_UNSAFE', step: 'step' },
      });
    }
    const ok = await runTask('sec21-target', { name: 'fine' });
    expect(ok.status).toBe('completed');
    expect(readdirSync(join(dataDir, 'tasks')).some((d) => existsSync(join(dataDir, 'tasks', d, 'escape.txt')))).toBe(
      false,
    );
  });

  it('a skeleton with a link to /etc/passwd or to the data dir is refused whole', async () => {
    for (const name of ['sec21-passwd', 'sec21-datadir']) {
      const task = await runTask(name, {});
      expect(task, name).toMatchObject({ status: 'failed', error: { code: 'TEMPLATE_PATH_UNSAFE' } });
      expect(task.error.message).toContain('symbolic link');
    }
  });

  it('publish:git to a remote outside the allowed prefix (also spelled with ..) is not configured', async () => {
    for (const remote of [`file://${work}/x.git`, `file://${shared}/../x.git`, 'https://github.com/acme/x.git']) {
      const task = await runTask('sec21-remote', { remote });
      expect(task, remote).toMatchObject({ status: 'failed', error: { code: 'TEMPLATE_ACTION_NOT_CONFIGURED' } });
    }
    expect(readdirSync(work).sort()).toEqual(['git', 'templates']);
  });

  it('the catalog reads a shared repository for alice, and nothing beside it on the disk', async () => {
    const component = (name: string) =>
      `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:payments\n`;
    const repo = (bare: string, name: string) => {
      const w = mkdtempSync(join(tmpdir(), 'idp-sec21-repo-'));
      git(w, 'init', '-q');
      writeFileSync(join(w, 'catalog-info.yaml'), component(name));
      git(w, 'add', '.');
      git(w, 'commit', '-qm', 'x');
      git(w, 'push', '-q', bare, 'HEAD:refs/heads/main');
      rmSync(w, { recursive: true, force: true });
    };
    git(work, 'init', '-q', '--bare', join(shared, 'ok.git'));
    repo(join(shared, 'ok.git'), 'sec21-shared-ok');
    git(work, 'init', '-q', '--bare', join(work, 'private.git'));
    repo(join(work, 'private.git'), 'sec21-private');
    symlinkSync(work, join(shared, 'escape'));
    const register = (target: string) =>
      api(server, alice, 'POST', '/api/catalog/idp/locations', { target, type: 'git' });
    const ok = await register(`file://${shared}/ok.git#main`);
    expect(ok.status, ok.text).toBe(201);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=sec21-shared-ok')).status).toBe(200);
    for (const target of [
      `file://${work}/private.git#main`,
      `file://${shared}/../private.git#main`,
      `file://${shared}/escape/private.git#main`,
      `file://${shared}/%2e%2e/private.git#main`,
    ]) {
      const res = await register(target);
      expect(res.status, `${target}: ${res.text}`).toBe(403);
    }
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=sec21-private')).status).toBe(404);
  });
});
