// idp:deploy: the service's folder at a commit (from a published remote, or the workspace) packed
// with `git archive` as `idp deploy` does, uploaded as a release and rolled out as the user, then
// waited for until healthy. The release version and the deployment id are checkpointed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CreateDeploymentRequest, Deployment, Release } from '@idp/contracts';
import { IdpError } from '@idp/contracts';
import type { RequestContext } from '../../../auth/context.ts';
import { deriveNames } from '../../environments/index.ts';
import type { ActionContext, TemplateAction } from '../types.ts';
import { git, gitError, gitText } from './git.ts';
import type { WaitLimits } from './idp-env.ts';
import { allowedRemote, fileRemotePath } from './remotes.ts';
import { assertNoLinks, insideRoot } from './workspace.ts';
import { pollUntil } from './wait.ts';

/** Releases.upload and DeploymentService.create/get fit. */
export interface DeploymentsApi {
  upload(
    ctx: RequestContext,
    req: { service: string; commit: string; env?: string },
    body: Readable,
  ): Promise<{ release: Release }>;
  create(ctx: RequestContext, req: CreateDeploymentRequest): Promise<Deployment>;
  get(ctx: RequestContext, id: string): Promise<Deployment>;
}

export interface DeployOptions {
  allowedRemotes: readonly string[];
  gitTimeoutMs: number;
  wait: WaitLimits;
  /** An archive larger than this is refused (bytes). */
  maxArchiveBytes: number;
}

const ENDED = new Set(['healthy', 'rolled_back', 'aborted', 'failed']);

/** Refuses a source outside the allowed remotes or the workspace before anything else happens. */
async function checkSource(ctx: ActionContext, opts: DeployOptions): Promise<void> {
  const dir = String(ctx.input.sourcePath ?? '').replace(/^\.?\/+|\/+$/g, '');
  if (dir) insideRoot(ctx.workspace, dir, 'sourcePath');
  const repoUrl = ctx.input.repoUrl ?? ctx.input.remoteUrl;
  if (typeof repoUrl === 'string' && repoUrl)
    await allowedRemote(repoUrl.replace(/^git\+/, '').split('#')[0]!, opts.allowedRemotes);
}

/** `git archive` of `<commit>:<dir>` from a fresh bare repository filled from the remote or the workspace. */
async function archive(ctx: ActionContext, opts: DeployOptions): Promise<{ tar: Buffer; commit: string }> {
  const dir = String(ctx.input.sourcePath ?? '').replace(/^\.?\/+|\/+$/g, '');
  if (dir) insideRoot(ctx.workspace, dir, 'sourcePath');
  const gitDir = await mkdtemp(join(tmpdir(), 'idp-deploy-'));
  const run = (args: string[], env?: Record<string, string>) =>
    git(args, { cwd: gitDir, timeoutMs: opts.gitTimeoutMs, signal: ctx.signal, env, maxBuffer: opts.maxArchiveBytes });
  try {
    await run(['init', '-q', '--bare', gitDir]);
    let commit: string;
    const repoUrl = ctx.input.repoUrl ?? ctx.input.remoteUrl;
    if (typeof repoUrl === 'string' && repoUrl) {
      const [url, branch] = repoUrl.replace(/^git\+/, '').split('#') as [string, string | undefined];
      const remote = await allowedRemote(url, opts.allowedRemotes);
      const target = remote.kind === 'file' ? (await fileRemotePath(remote, false)).path : remote.url;
      const want = typeof ctx.input.commit === 'string' ? ctx.input.commit : (branch ?? 'main');
      if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/.test(want) || want.includes('..'))
        throw new IdpError('TEMPLATE_INVALID', `idp:deploy: "${want}" is not a commit or branch`, { field: 'commit' });
      await run(['fetch', '-q', '--', target, want]);
      commit = await gitText(['--git-dir', gitDir, 'rev-parse', 'FETCH_HEAD^{commit}'], {
        cwd: gitDir,
        timeoutMs: opts.gitTimeoutMs,
      });
    } else {
      const source = insideRoot(ctx.workspace, dir || '.', 'sourcePath');
      await assertNoLinks(ctx.workspace, source, 'sourcePath');
      const date = ctx.checkpoint.get<string>('date') ?? new Date().toISOString();
      await ctx.checkpoint.set('date', date);
      const g = ['--git-dir', gitDir, '--work-tree', ctx.workspace];
      await run([...g, 'add', '-A', '--', '.']);
      const who = { GIT_AUTHOR_NAME: 'idp', GIT_AUTHOR_EMAIL: 'idp@localhost', GIT_AUTHOR_DATE: date };
      await run([...g, 'commit', '-q', '--allow-empty', '-m', 'idp:deploy'], {
        ...who,
        GIT_COMMITTER_NAME: 'idp',
        GIT_COMMITTER_EMAIL: 'idp@localhost',
        GIT_COMMITTER_DATE: date,
      });
      commit = await gitText(['--git-dir', gitDir, 'rev-parse', 'HEAD'], { cwd: gitDir, timeoutMs: opts.gitTimeoutMs });
    }
    // git stamps an archive of a tree with the current time; a commit of that tree dated as the
    // source commit is archived instead, so one commit always gives the same bytes (and the same
    // release version: a retry's upload finds the release it made).
    const tree = dir ? `${commit}:${dir}` : `${commit}^{tree}`;
    const date = await gitText(['--git-dir', gitDir, 'show', '-s', '--format=%cI', commit], {
      cwd: gitDir,
      timeoutMs: opts.gitTimeoutMs,
    });
    const who = { GIT_AUTHOR_NAME: 'idp', GIT_AUTHOR_EMAIL: 'idp@localhost', GIT_AUTHOR_DATE: date };
    const stamped = (
      await run(['--git-dir', gitDir, 'commit-tree', tree, '-m', `idp:deploy ${commit}`], {
        ...who,
        GIT_COMMITTER_NAME: 'idp',
        GIT_COMMITTER_EMAIL: 'idp@localhost',
        GIT_COMMITTER_DATE: date,
      })
    )
      .toString('utf8')
      .trim();
    const tar = await run(['--git-dir', gitDir, 'archive', '--format=tar', stamped]);
    return { tar, commit };
  } catch (err) {
    throw gitError(`${ctx.stepId} (idp:deploy)`, err);
  } finally {
    await rm(gitDir, { recursive: true, force: true });
  }
}

async function deploy(ctx: ActionContext, api: DeploymentsApi | undefined, opts: DeployOptions): Promise<void> {
  const service = String(ctx.input.service);
  const env = String(ctx.input.env);
  if (ctx.dryRun) {
    ctx.log(`idp:deploy (dry run): would deploy ${service} to ${env} and wait until it is healthy`);
    ctx.output('deploymentId', 'dry-run');
    ctx.output('version', 'dry-run');
    ctx.output(
      'url',
      `http://${service}.${deriveNames(env, ctx.user.principal.email ?? ctx.user.principal.name).namespace}.localhost`,
    );
    return;
  }
  await checkSource(ctx, opts);
  if (!api)
    throw new IdpError('TEMPLATE_ACTION_NOT_CONFIGURED', 'idp:deploy: deployments are not available to tasks', {
      needs: 'the deployments service',
    });
  let deploymentId = ctx.checkpoint.get<string>('deploymentId');
  let version = ctx.checkpoint.get<string>('version');
  if (deploymentId) {
    const before = await api.get(ctx.user.ctx, deploymentId);
    if (ENDED.has(before.status) && before.status !== 'healthy') {
      ctx.log(`idp:deploy: the earlier deployment ${deploymentId} ended ${before.status}; deploying again`);
      deploymentId = undefined;
    } else ctx.log(`idp:deploy: following deployment ${deploymentId} started before`);
  }
  if (!deploymentId) {
    if (!version) {
      const { tar, commit } = await archive(ctx, opts);
      ctx.log(`idp:deploy: uploading ${service} at ${commit.slice(0, 12)} (${tar.length} bytes)`);
      const { release } = await api.upload(ctx.user.ctx, { service, commit, env }, Readable.from([tar]));
      if (release.status === 'failed')
        throw new IdpError('TEMPLATE_ACTION_FAILED', `idp:deploy: the release ${release.version} did not build`, {
          service,
          version: release.version,
        });
      version = release.version;
      await ctx.checkpoint.set('version', version);
    }
    const started = await api.create(ctx.user.ctx, { service, env, version });
    deploymentId = started.id;
    await ctx.checkpoint.set('deploymentId', deploymentId);
    ctx.log(`idp:deploy: deployment ${deploymentId} of ${service} ${version} to ${env} started`);
  }
  const id = deploymentId;
  const done = await pollUntil(
    () => api.get(ctx.user.ctx, id),
    (d) => ENDED.has(d.status),
    (d) => `${service} → ${env}: ${d.status}${d.step !== null ? ` (step ${d.step + 1}, ${d.weight}%)` : ''}`,
    (line) => ctx.log(line),
    { ...opts.wait, signal: ctx.signal, what: `the deployment ${id}` },
  );
  if (done.status !== 'healthy')
    throw new IdpError(
      'TEMPLATE_ACTION_FAILED',
      `idp:deploy: deployment ${id} of ${service} to ${env} ended ${done.status}${done.reason ? `: ${done.reason}` : ''}`,
      { deploymentId: id, status: done.status },
    );
  ctx.output('deploymentId', id);
  ctx.output('version', done.version);
  ctx.output('url', done.url);
}

export function deployAction(api: DeploymentsApi | undefined, opts: DeployOptions): TemplateAction {
  return {
    id: 'idp:deploy',
    description:
      "Deploys a service from a published repository (repoUrl: publish:git's repoContentsUrl or remoteUrl, commit) or the workspace, and waits until healthy.",
    inputSchema: {
      type: 'object',
      required: ['service', 'env'],
      properties: {
        service: { type: 'string', minLength: 1 },
        env: { type: 'string', minLength: 1 },
        repoUrl: { type: 'string' },
        remoteUrl: { type: 'string' },
        commit: { type: 'string' },
        sourcePath: { type: 'string' },
      },
    },
    handler: (ctx) => deploy(ctx, api, opts),
  };
}
