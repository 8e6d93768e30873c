// publish:git: commits the workspace (or sourcePath) and pushes it to a remote under
// templates.publish.git.allowedRemotes. The commit's dates come from the step's checkpoint, so a
// retry makes the same commit again; a branch that already holds other history is never touched.
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdpError } from '@idp/contracts';
import type { ActionContext, TemplateAction } from '../types.ts';
import { git, gitError, gitText } from './git.ts';
import { listWorkspace } from './fs.ts';
import { allowedRemote, fileRemotePath, type Remote } from './remotes.ts';
import { insideRoot, assertNoLinks } from './workspace.ts';

export interface PublishGitOptions {
  allowedRemotes: readonly string[];
  gitTimeoutMs: number;
}

export const DRY_RUN_COMMIT = '0000000000000000000000000000000000000000';

/**
 * What catalog:register and idp:deploy read the published contents from: `git+<remote>#<branch>`,
 * a git location of the catalog (its catalog-info.yaml files at the branch's head).
 */
export function repoContentsUrl(remoteUrl: string, branch: string): string {
  return `git+${remoteUrl}#${branch}`;
}

interface Checkpointed {
  date?: string;
  commit?: string;
  commits?: string[];
  pushed?: boolean;
  createdRepo?: boolean;
}

async function publishGit(ctx: ActionContext, opts: PublishGitOptions): Promise<void> {
  const input = ctx.input;
  const raw = String(input.remoteUrl ?? input.repoUrl ?? '');
  if (!raw)
    throw new IdpError('TEMPLATE_INVALID', `${ctx.stepId} (publish:git): give remoteUrl (or repoUrl)`, {
      field: 'remoteUrl',
    });
  if (/^[\w.-]+\?/.test(raw))
    throw new IdpError(
      'TEMPLATE_ACTION_NOT_CONFIGURED',
      `${ctx.stepId} (publish:git): "${raw}" is a SaaS repository picker value (host?owner=…&repo=…); publish:git takes a git URL under templates.publish.git.allowedRemotes`,
      { field: 'repoUrl', needs: 'a git URL (file:///… or https://…) under templates.publish.git.allowedRemotes' },
    );
  const remote = await allowedRemote(raw, opts.allowedRemotes);
  const branch = String(input.defaultBranch ?? 'main');
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/.test(branch) || branch.includes('..') || branch.endsWith('.lock'))
    throw new IdpError(
      'TEMPLATE_INVALID',
      `${ctx.stepId} (publish:git): defaultBranch "${branch}" is not a branch name`,
      {
        field: 'defaultBranch',
      },
    );
  const source = insideRoot(ctx.workspace, String(input.sourcePath ?? '.'), 'sourcePath');
  await assertNoLinks(ctx.workspace, source, 'sourcePath');
  const outputs = (commit: string): void => {
    ctx.output('remoteUrl', remote.url);
    ctx.output('repoContentsUrl', repoContentsUrl(remote.url, branch));
    ctx.output('commitHash', commit);
  };
  if (!(await lstat(source).catch(() => null))?.isDirectory())
    throw new IdpError(
      'TEMPLATE_ACTION_FAILED',
      `${ctx.stepId} (publish:git): sourcePath is not a folder of the workspace`,
      {
        field: 'sourcePath',
      },
    );
  if (ctx.dryRun) {
    const files = (await listWorkspace(source)).filter((e) => !e.dir).length;
    ctx.log(`publish:git (dry run): would commit ${files} files and push them to ${remote.url} branch ${branch}`);
    outputs(DRY_RUN_COMMIT);
    return;
  }
  if ((await listWorkspace(source)).some((e) => e.rel.split('/').includes('.git')))
    throw new IdpError('TEMPLATE_PATH_UNSAFE', `${ctx.stepId} (publish:git): the source holds a .git folder`, {
      field: 'sourcePath',
    });

  const cp = ctx.checkpoint;
  const saved: Checkpointed = { ...(cp.get<Checkpointed>('publish') ?? {}) };
  const save = (): Promise<void> => cp.set('publish', saved);
  const target = await remoteTarget(remote, saved, save, opts, ctx);
  const run = (args: string[], env?: Record<string, string>) =>
    git(args, { cwd: source, timeoutMs: opts.gitTimeoutMs, signal: ctx.signal, env });
  const gitDir = await mkdtemp(join(tmpdir(), 'idp-publish-'));
  try {
    if (!saved.date) {
      saved.date = new Date().toISOString();
      await save();
    }
    const g = ['--git-dir', gitDir, '--work-tree', source];
    await run(['init', '-q', '--bare', gitDir]);
    await run(['--git-dir', gitDir, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    await run([...g, 'add', '-A', '--', '.']);
    // The commit is the user's: by default it carries their name and address.
    const p = ctx.user.principal;
    const name = String(input.gitAuthorName ?? p.displayName ?? p.name);
    const email = String(input.gitAuthorEmail ?? p.email ?? 'idp@localhost');
    const env = {
      GIT_AUTHOR_NAME: name,
      GIT_AUTHOR_EMAIL: email,
      GIT_COMMITTER_NAME: name,
      GIT_COMMITTER_EMAIL: email,
      GIT_AUTHOR_DATE: saved.date,
      GIT_COMMITTER_DATE: saved.date,
    };
    await run([...g, 'commit', '-q', '--allow-empty', '-m', String(input.gitCommitMessage ?? 'initial commit')], env);
    const commit = await gitText([...g, 'rev-parse', 'HEAD'], { cwd: source, timeoutMs: opts.gitTimeoutMs });
    // Every commit this step made (the last one first), so a retry recognises its own branch.
    const mine = [...new Set([commit, ...(saved.commits ?? []), ...(saved.commit ? [saved.commit] : [])])];
    saved.commit = commit;
    saved.commits = mine.slice(0, 20);
    await save();
    const head = await remoteHead(target, branch, opts, source, ctx);
    let published = commit;
    if (head === commit) {
      ctx.log(`publish:git: ${remote.url} branch ${branch} already holds ${commit.slice(0, 12)}; nothing to push`);
    } else if (head && mine.includes(head)) {
      // This step pushed `head` before and the workspace changed since: a fast-forward onto it.
      await run(['--git-dir', gitDir, 'fetch', '-q', '--', target, `refs/heads/${branch}`]);
      const tree = (rev: string) =>
        gitText(['--git-dir', gitDir, 'rev-parse', `${rev}^{tree}`], { cwd: source, timeoutMs: opts.gitTimeoutMs });
      if ((await tree(head)) === (await tree(commit))) published = head;
      else {
        const message = String(input.gitCommitMessage ?? 'initial commit');
        published = (
          await run(['--git-dir', gitDir, 'commit-tree', await tree(commit), '-p', head, '-m', message], env)
        )
          .toString('utf8')
          .trim();
        saved.commits = [published, ...mine].slice(0, 20);
        await save();
        await run(['--git-dir', gitDir, 'push', '-q', target, `${published}:refs/heads/${branch}`]);
      }
      ctx.log(`publish:git: ${remote.url} branch ${branch} holds this step's ${published.slice(0, 12)}`);
    } else if (head) {
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `${ctx.stepId} (publish:git): the branch ${branch} of ${remote.url} already exists with history idp did not publish (${head.slice(0, 12)}); refusing to push onto it`,
        {
          field: 'remoteUrl',
          branch,
          remoteUrl: remote.url,
          hint: 'Choose a new repository name (or another defaultBranch), then retry the task.',
        },
      );
    } else {
      // No force: if someone created the branch in between, the push fails rather than overwrite it.
      await run(['--git-dir', gitDir, 'push', '-q', target, `${commit}:refs/heads/${branch}`]);
      ctx.log(`publish:git: pushed ${commit.slice(0, 12)} to ${remote.url} branch ${branch}`);
    }
    saved.pushed = true;
    await save();
    outputs(published);
  } catch (err) {
    throw gitError(`${ctx.stepId} (publish:git)`, err);
  } finally {
    await rm(gitDir, { recursive: true, force: true });
  }
}

/** What git is given as the remote: a file remote's checked real path (made a bare repository when missing). */
async function remoteTarget(
  remote: Remote,
  saved: Checkpointed,
  save: () => Promise<void>,
  opts: PublishGitOptions,
  ctx: ActionContext,
): Promise<string> {
  if (remote.kind === 'http') return remote.url;
  const { path, exists } = await fileRemotePath(remote, true);
  const isRepo = await gitText(['--git-dir', path, 'rev-parse', '--is-bare-repository'], {
    cwd: path,
    timeoutMs: opts.gitTimeoutMs,
  }).then(
    (out) => out === 'true',
    () => false,
  );
  if (!isRepo) {
    const empty = !exists || (await listWorkspace(path, 1)).length === 0;
    if (!empty)
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `publish:git: ${remote.url} exists and is not a bare git repository`,
        {
          field: 'remoteUrl',
        },
      );
    await git(['init', '-q', '--bare', path], { cwd: path, timeoutMs: opts.gitTimeoutMs, signal: ctx.signal });
    saved.createdRepo = true;
    await save();
    ctx.log(`publish:git: created the bare repository ${remote.url}`);
  }
  if (!(await lstat(path)).isDirectory()) throw new Error(`${path} is not a folder`);
  return path;
}

async function remoteHead(
  target: string,
  branch: string,
  opts: PublishGitOptions,
  cwd: string,
  ctx: ActionContext,
): Promise<string | undefined> {
  const out = await gitText(['ls-remote', '--', target, `refs/heads/${branch}`], {
    cwd,
    timeoutMs: opts.gitTimeoutMs,
    signal: ctx.signal,
  });
  const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line?.split('\t')[0];
}

export function publishGitAction(opts: PublishGitOptions): TemplateAction {
  return {
    id: 'publish:git',
    description:
      'Commits the workspace (or sourcePath) and pushes it to a git remote under templates.publish.git.allowedRemotes (a bare repository is created for a file:// remote).',
    inputSchema: {
      type: 'object',
      properties: {
        remoteUrl: { type: 'string', minLength: 1 },
        repoUrl: { type: 'string', minLength: 1 },
        defaultBranch: { type: 'string', default: 'main' },
        sourcePath: { type: 'string' },
        gitCommitMessage: { type: 'string' },
        gitAuthorName: { type: 'string' },
        gitAuthorEmail: { type: 'string' },
        description: { type: 'string' },
      },
      anyOf: [{ required: ['remoteUrl'] }, { required: ['repoUrl'] }],
    },
    handler: (ctx) => publishGit(ctx, opts),
  };
}

/** publish:github and friends: idp carries no SaaS integration; the error names what to use. */
export function notConfiguredAction(id: string, needs: string): TemplateAction {
  return {
    id,
    description: `Not configured in idp: ${needs}.`,
    handler: (ctx) =>
      Promise.reject(
        new IdpError(
          'TEMPLATE_ACTION_NOT_CONFIGURED',
          `${ctx.stepId} (${id}): idp has no ${id.replace(/^publish:/, '')} integration; ${needs}`,
          { action: id, step: ctx.stepId, needs },
        ),
      ),
  };
}
