// The runner that carries the life cycle's actions out on the platform, through the environments
// and deployments services (as the golden paths' idp:env:create and idp:deploy do), acting for the
// preview's owning team through the principal `actingFor(team)` gives.
import { Readable } from 'node:stream';
import type {
  CreateEnvironmentRequest,
  Deployment,
  Environment,
  PreviewService as PreviewServiceView,
} from '@idp/contracts';
import { IdpError } from '@idp/contracts';
import { formatProblems, parseDeploySpec } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { InternalCreateOptions } from '../environments/create.ts';
import type { DeploymentsApi } from '../templates/actions/idp-deploy.ts';
import type { EnvironmentsApi, WaitLimits } from '../templates/actions/idp-env.ts';
import { pollUntil } from '../templates/actions/wait.ts';
import { fetchHead, type FetchOptions } from './git-fetch.ts';
import { Superseded, type PreviewRunner, type RunnerTarget } from './runner.ts';

export interface PlatformRunnerDeps {
  environments: Pick<EnvironmentsApi, 'get'> & {
    create(ctx: RequestContext, req: CreateEnvironmentRequest, internal?: InternalCreateOptions): Promise<Environment>;
    delete(ctx: RequestContext, name: string): Promise<Environment>;
  };
  deployments: DeploymentsApi & {
    list(ctx: RequestContext, q: { service?: string; env?: string; limit?: number }): Promise<Deployment[]>;
    command(ctx: RequestContext, id: string, what: 'promote' | 'abort'): Promise<Deployment>;
  };
  /** The principal that acts for the owning team (its environments, quota and audit); throws when there is none. */
  actingFor(repository: RunnerTarget['repository']): RequestContext;
  fetch: FetchOptions;
  wait: WaitLimits;
  log?: (line: string) => void;
}

const ENDED = new Set(['healthy', 'rolled_back', 'aborted', 'failed']);

export class PlatformRunner implements PreviewRunner {
  private readonly log: (line: string) => void;
  /** Aborted when the server stops: waits end at once. */
  private readonly stopping = new AbortController();
  private readonly signal = this.stopping.signal;

  constructor(private readonly deps: PlatformRunnerDeps) {
    this.log = deps.log ?? (() => {});
  }

  stop(): void {
    this.stopping.abort();
  }

  /**
   * Makes the preview's environment from the base: with the base's secrets, or (an untrusted
   * fork) with the base's secret names holding placeholder values. An environment already there
   * with the other kind of secrets is rebuilt, so a re-run after a crash converges.
   */
  async create(t: RunnerTarget, opts: { copySecrets: boolean }): Promise<void> {
    const ctx = this.deps.actingFor(t.repository);
    const name = t.preview.env;
    const secrets = opts.copySecrets ? 'copy' : 'placeholders';
    // A head that cannot be fetched fails before anything is made: no environment left half-used.
    await (await fetchHead(t.repository.cloneUrl, t.preview.number, t.preview.head_sha, this.deps.fetch)).dispose();
    let existing = await this.deps.environments.get(ctx, name).catch(() => null);
    if (existing && existing.status !== 'deleted' && existing.secrets !== secrets) {
      this.log(`${name}: has ${existing.secrets} secrets, ${secrets} wanted: rebuilding it`);
      await this.teardown(t);
      existing = null;
    }
    if (!existing || existing.status === 'deleted')
      await this.deps.environments.create(
        ctx,
        { name, from: t.repository.base, ttl: t.repository.ttl, secrets },
        {
          preview: { repo: t.preview.repo, number: t.preview.number, team: t.repository.team },
          placeholders: t.repository.placeholders,
        },
      );
    const env = await pollUntil(
      () => this.deps.environments.get(ctx, name),
      (e) => e.status !== 'provisioning',
      (e) => `${name}: ${e.status}`,
      this.log,
      { ...this.deps.wait, signal: this.signal, what: `the environment ${name}` },
    );
    if (env.status !== 'ready')
      throw new IdpError('TEMPLATE_ACTION_FAILED', `the environment ${name} is ${env.status}`, { name });
  }

  /**
   * Made trusted: the preview is rebuilt from the base with its secrets (the placeholders go with
   * the old environment); the life cycle then redeploys the head. Idempotent: once the
   * environment holds the base's secrets, nothing is rebuilt again.
   */
  copySecrets(t: RunnerTarget): Promise<void> {
    return this.create(t, { copySecrets: true });
  }

  async deploy(
    t: RunnerTarget,
    headSha: string,
    opts: { cancelOlder: boolean; superseded?: () => Promise<string | null> },
  ): Promise<PreviewServiceView[]> {
    const ctx = this.deps.actingFor(t.repository);
    const env = t.preview.env;
    const head = await fetchHead(t.repository.cloneUrl, t.preview.number, headSha, this.deps.fetch);
    const started: { service: string; id: string }[] = [];
    try {
      const folders = t.repository.services ?? (await head.services());
      if (folders.length === 0)
        throw new IdpError('PREVIEW_SOURCE_UNAVAILABLE', `no .idp/deploy.yaml at ${headSha.slice(0, 12)}`, {
          sha: headSha,
        });
      for (const folder of folders) {
        const base = folder === '.' ? '' : `${folder.replace(/\/+$/, '')}/`;
        const text = await head.readFile(`${base}.idp/deploy.yaml`);
        const parsed = text === null ? null : parseDeploySpec(text, `${base}.idp/deploy.yaml`);
        if (!parsed?.ok)
          throw new IdpError(
            'PREVIEW_SOURCE_UNAVAILABLE',
            `${base}.idp/deploy.yaml at ${headSha.slice(0, 12)}: ${parsed ? formatProblems(parsed.problems) : 'missing'}`,
            { folder },
          );
        const service = parsed.spec.service.name;
        if (opts.cancelOlder)
          for (const d of await this.deps.deployments.list(ctx, { service, env, limit: 20 }))
            if (!ENDED.has(d.status)) {
              await this.deps.deployments.command(ctx, d.id, 'abort').catch(() => undefined);
              // A new rollout starts once the aborted one has handed back to the stable release.
              await pollUntil(
                () => this.deps.deployments.get(ctx, d.id),
                (x) => ENDED.has(x.status),
                (x) => `${service} → ${env}: aborting ${d.id}: ${x.status}`,
                this.log,
                { ...this.deps.wait, signal: this.signal, what: `the abort of ${d.id}` },
              );
            }
        const tar = await head.archive(folder);
        const { release } = await this.deps.deployments.upload(
          ctx,
          { service, commit: headSha, env },
          Readable.from([tar]),
        );
        if (release.status === 'failed')
          throw new IdpError('TEMPLATE_ACTION_FAILED', `the release ${release.version} did not build`, { service });
        const d = await this.deps.deployments.create(ctx, { service, env, version: release.version });
        started.push({ service, id: d.id });
      }
    } finally {
      await head.dispose();
    }
    const out: PreviewServiceView[] = [];
    const read = async (id: string) => {
      const by = opts.superseded ? await opts.superseded() : null;
      if (by) {
        // A newer push (or a close) is waiting: this rollout is not waited for, it is stopped.
        for (const x of started) await this.deps.deployments.command(ctx, x.id, 'abort').catch(() => undefined);
        throw new Superseded(`replaced by ${by} before it was healthy`);
      }
      return this.deps.deployments.get(ctx, id);
    };
    for (const s of started) {
      const d = await pollUntil(
        () => read(s.id),
        (x) => ENDED.has(x.status),
        (x) => `${s.service} → ${env}: ${x.status}`,
        this.log,
        { ...this.deps.wait, signal: this.signal, what: `the deployment ${s.id}` },
      );
      out.push({ service: s.service, version: d.version, status: d.status, url: d.url, deploymentId: d.id });
    }
    return out;
  }

  async teardown(t: RunnerTarget): Promise<void> {
    const ctx = this.deps.actingFor(t.repository);
    const name = t.preview.env;
    const env = await this.deps.environments.get(ctx, name).catch((err: unknown) => {
      if (err instanceof IdpError && err.code === 'ENV_NOT_FOUND') return null;
      throw err;
    });
    if (!env || env.status === 'deleted') return;
    if (env.status !== 'deleting') await this.deps.environments.delete(ctx, name);
    await pollUntil(
      () => this.deps.environments.get(ctx, name).catch(() => null),
      (e) => e === null || e.status === 'deleted',
      (e) => `${name}: ${e?.status ?? 'gone'}`,
      this.log,
      { ...this.deps.wait, signal: this.signal, what: `the removal of ${name}` },
    );
  }
}
