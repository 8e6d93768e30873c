import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttp } from '../../../../../../test/support/git-http.ts';
import { actionHarness, type Harness } from '../../../../../../test/support/template-actions.ts';
import { createActionRegistry } from './builtin.ts';
import { DRY_RUN_COMMIT } from './publish-git.ts';

const gitRoot = mkdtempSync(join(tmpdir(), 'idp-remotes-'));
const allowed = join(gitRoot, 'allowed');
mkdirSync(allowed);
const registry = createActionRegistry({ allowedRemotes: [`file://${allowed}/`] });
const publish = registry.get('publish:git');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

afterAll(() => rmSync(gitRoot, { recursive: true, force: true }));

describe('publish:git to a file:// remote', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
    writeFileSync(join(h.workspace, 'README.md'), '# orders\n');
    mkdirSync(join(h.workspace, 'src'));
    writeFileSync(join(h.workspace, 'src/index.js'), 'console.log(1)\n');
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates the bare repository, commits the workspace and pushes it; outputs the URLs and the commit', async () => {
    const remoteUrl = `file://${allowed}/team/orders.git`;
    const { output, log } = await h.run(publish, {
      remoteUrl,
      gitCommitMessage: 'Scaffolded by idp',
      gitAuthorName: 'Alice',
      gitAuthorEmail: 'alice@company.com',
    });
    const bare = join(allowed, 'team/orders.git');
    expect(git(bare, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(output).toEqual({
      remoteUrl,
      repoContentsUrl: `git+${remoteUrl}#main`,
      commitHash: git(bare, 'rev-parse', 'refs/heads/main'),
    });
    expect(git(bare, 'ls-tree', '-r', '--name-only', 'main').split('\n')).toEqual(['README.md', 'src/index.js']);
    expect(git(bare, 'log', '-1', '--format=%an <%ae> %s', 'main')).toBe('Alice <alice@company.com> Scaffolded by idp');
    expect(log.join('\n')).toContain('created the bare repository');

    // A retry (same checkpoint) is a no-op: the same commit, nothing pushed.
    const again = await h.run(publish, {
      remoteUrl,
      gitCommitMessage: 'Scaffolded by idp',
      gitAuthorName: 'Alice',
      gitAuthorEmail: 'alice@company.com',
    });
    expect(again.output.commitHash).toBe(output.commitHash);
    expect(again.log.join('\n')).toContain('nothing to push');
  });

  it('a retry after a push that was not recorded makes the same commit and does not push again', async () => {
    const remoteUrl = `file://${allowed}/retry.git`;
    const first = await h.run(publish, { remoteUrl });
    // Forget that it pushed (a crash between the push and the checkpoint).
    const cp = h.checkpoints.get('publish-git')!;
    cp.set('publish', { ...(cp.get('publish') as object), pushed: false });
    const second = await h.run(publish, { remoteUrl });
    expect(second.output.commitHash).toBe(first.output.commitHash);
  });

  it('a retry after the workspace changed fast-forwards the branch this step pushed', async () => {
    const remoteUrl = `file://${allowed}/ff.git`;
    const first = await h.run(publish, { remoteUrl });
    writeFileSync(join(h.workspace, 'README.md'), '# orders, changed\n');
    const second = await h.run(publish, { remoteUrl });
    const bare = join(allowed, 'ff.git');
    expect(second.output.commitHash).not.toBe(first.output.commitHash);
    expect(git(bare, 'rev-parse', 'main')).toBe(second.output.commitHash);
    expect(git(bare, 'rev-parse', 'main^')).toBe(first.output.commitHash);
    const third = await h.run(publish, { remoteUrl });
    expect(third.output.commitHash).toBe(second.output.commitHash);
  });

  it('refuses to push onto a branch that holds history it did not publish', async () => {
    const bare = join(allowed, 'foreign.git');
    git(gitRoot, 'init', '-q', '--bare', bare);
    const other = mkdtempSync(join(tmpdir(), 'idp-foreign-'));
    git(other, 'init', '-q');
    writeFileSync(join(other, 'x'), 'theirs');
    git(other, 'add', 'x');
    git(other, '-c', 'user.name=b', '-c', 'user.email=b@x', 'commit', '-qm', 'theirs');
    git(other, 'push', '-q', bare, 'HEAD:refs/heads/main');
    const theirs = git(bare, 'rev-parse', 'main');
    await expect(h.run(publish, { remoteUrl: `file://${bare}` })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
      message: expect.stringContaining('already exists with history idp did not publish'),
    });
    expect(git(bare, 'rev-parse', 'main')).toBe(theirs);
    // Another branch of the same repository is fine.
    const { output } = await h.run(
      publish,
      { remoteUrl: `file://${bare}`, defaultBranch: 'scaffold' },
      { stepId: 'p2' },
    );
    expect(git(bare, 'rev-parse', 'scaffold')).toBe(output.commitHash);
    rmSync(other, { recursive: true, force: true });
  });

  it("makes the allowed prefix's folder on first use", async () => {
    const prefix = join(gitRoot, 'not-yet');
    const viaNew = createActionRegistry({ allowedRemotes: [`file://${prefix}/`] }).get('publish:git');
    const { output } = await h.run(viaNew, { remoteUrl: `file://${prefix}/acme/first.git` });
    expect(git(join(prefix, 'acme/first.git'), 'rev-parse', 'main')).toBe(output.commitHash);
  });

  it('publishes only sourcePath when given, authored by the user by default', async () => {
    const { output } = await h.run(publish, { remoteUrl: `file://${allowed}/src-only.git`, sourcePath: 'src' });
    expect(git(join(allowed, 'src-only.git'), 'log', '-1', '--format=%an <%ae>', 'main')).toBe(
      'alice <alice@company.com>',
    );
    await expect(
      h.run(publish, { remoteUrl: `file://${allowed}/none.git`, sourcePath: 'missing' }, { stepId: 'p4' }),
    ).rejects.toMatchObject({ code: 'TEMPLATE_ACTION_FAILED', message: expect.stringContaining('not a folder') });
    expect(git(join(allowed, 'src-only.git'), 'ls-tree', '--name-only', String(output.commitHash))).toBe('index.js');
  });

  it('dry run: no repository is made; the outputs name the target', async () => {
    const remoteUrl = `file://${allowed}/dry.git`;
    const { output, log } = await h.run(publish, { remoteUrl }, { dryRun: true });
    expect(existsSync(join(allowed, 'dry.git'))).toBe(false);
    expect(output).toEqual({ remoteUrl, repoContentsUrl: `git+${remoteUrl}#main`, commitHash: DRY_RUN_COMMIT });
    expect(log.join('\n')).toContain(`would commit 2 files and push them to ${remoteUrl} branch main`);
  });

  it('not configured without allowed remotes; SaaS publishers name what they need', async () => {
    const bare = createActionRegistry({});
    await expect(h.run(bare.get('publish:git'), { remoteUrl: `file://${allowed}/x.git` })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_NOT_CONFIGURED',
      message: expect.stringContaining('templates.publish.git.allowedRemotes is empty'),
    });
    await expect(h.run(bare.get('publish:github'), { repoUrl: 'github.com?owner=a&repo=b' })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_NOT_CONFIGURED',
      message: expect.stringContaining('no github integration'),
    });
    expect(() => bare.get('publish:gitlab:something', 'publish')).toThrow(/publish:gitlab:something \(step publish\)/);
    expect(() => bare.get('acme:frobnicate', 'step3')).toThrow(
      expect.objectContaining({ code: 'TEMPLATE_ACTION_UNKNOWN', message: expect.stringContaining('step step3') }),
    );
  });

  it('pushes to an http(s) remote under an allowed prefix (the repository exists there)', async () => {
    const served = join(gitRoot, 'served');
    mkdirSync(join(served, 'acme'), { recursive: true });
    git(gitRoot, 'init', '-q', '--bare', join(served, 'acme/orders.git'));
    const http = await startGitHttp(served);
    try {
      const remoteUrl = `${http.url}acme/orders.git`;
      const viaHttp = createActionRegistry({ allowedRemotes: [`${http.url}acme/`] }).get('publish:git');
      const { output } = await h.run(viaHttp, { remoteUrl });
      expect(output.repoContentsUrl).toBe(`git+${remoteUrl}#main`);
      expect(git(join(served, 'acme/orders.git'), 'rev-parse', 'main')).toBe(output.commitHash);
      expect(http.requests.some((r) => r.includes('git-receive-pack'))).toBe(true);
      await expect(
        h.run(viaHttp, { remoteUrl: `${http.url}other/orders.git` }, { stepId: 'p3' }),
      ).rejects.toMatchObject({
        code: 'TEMPLATE_ACTION_NOT_CONFIGURED',
      });
    } finally {
      await http.close();
    }
  });
});
