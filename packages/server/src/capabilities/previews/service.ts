// The preview life cycle: each pull_request delivery read, decided by the pure reducer in core and
// carried out by the runner, with the preview row recorded before and after every action so a
// restart mid-way redoes the delivery from what is recorded. Implements DeliveryHandler.
import {
  decidePreview,
  parseDuration,
  previewEnvName,
  previewExists,
  selectReaped,
  type PreviewAction,
  type Reaped,
  type PreviewLifecycleStatus,
  type PreviewState,
} from '@idp/core';
import { previewRepository, type PreviewRepositoryConfig, type PreviewsConfig } from '../../config/previews.ts';
import { readPullRequest, type PullRequestInfo } from './pull-request.ts';
import { Superseded, type PreviewRunner, type RunnerTarget, type TeamMembership } from './runner.ts';
import { PreviewStore, type PreviewRow } from './store.ts';
import type { DeliveryHandler, DeliveryResult, WebhookDelivery } from './types.ts';

export interface PreviewServiceDeps {
  store: PreviewStore;
  config: () => PreviewsConfig;
  runner: PreviewRunner;
  membership: TeamMembership;
  /** Told after every change of a preview's row (the reports to GitHub); never fails the preview. */
  onChange?: (repo: string, number: number) => Promise<void>;
  now?: () => Date;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/** The reducer's view of the recorded preview. */
function stateOf(row: PreviewRow | undefined): PreviewState | null {
  if (!row) return null;
  return { status: row.status as PreviewLifecycleStatus, headSha: row.head_sha, trusted: row.trusted === 1 };
}

export class PreviewLifecycle implements DeliveryHandler {
  private readonly now: () => Date;
  /** Set when the control plane stops: work cut short is not a failure of the preview. */
  private stopping = false;

  constructor(private readonly deps: PreviewServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Called before the runner's waits are ended: what they cut short is left to be redone. */
  stop(): void {
    this.stopping = true;
  }

  async handle(d: WebhookDelivery): Promise<DeliveryResult> {
    if (d.event !== 'pull_request') return { status: 'ignored', outcome: `the event ${d.event} makes no preview` };
    const found = d.repo ? previewRepository(this.deps.config(), d.repo) : undefined;
    if (!found) return { status: 'ignored', outcome: `${d.repo ?? 'the repository'} is not configured for previews` };
    const read = readPullRequest(d.payload);
    if (!read.ok) return { status: 'failed', outcome: read.reason };
    const pr = read.pr;
    return this.apply(pr, found.repo, d.id);
  }

  /** Decides and carries out one event for one pull request (a delivery or an operator's redeploy). */
  async apply(pr: PullRequestInfo, repository: PreviewRepositoryConfig, deliveryId?: string): Promise<DeliveryResult> {
    const member = pr.sender ? await this.deps.membership.isMember(pr.sender, repository.team) : false;
    const event = { ...pr.event, senderIsTeamMember: member };
    const current = await this.deps.store.get(pr.repo, pr.number);
    const decision = decidePreview(event, stateOf(current), {
      drafts: repository.drafts,
      optOutLabel: repository.labels.optOut,
      trustLabel: repository.labels.trust,
    });
    if (decision.outcome === 'ignored') return { status: 'ignored', outcome: decision.reason };

    // Trust granted by this event is recorded once the secrets are copied, not before.
    const granting = decision.actions.some((a) => a.kind === 'copy-secrets');
    let row = await this.record(pr, current, granting ? current?.trusted === 1 : decision.trusted);
    const target = (): RunnerTarget => ({ preview: row, repository });
    const started = this.now().getTime();
    try {
      for (const action of decision.actions) row = await this.run(action, target(), row, deliveryId);
    } catch (err) {
      if (err instanceof Superseded) {
        await this.deps.store.update(pr.repo, pr.number, { note: err.message });
        return { status: 'done', outcome: `${decision.reason}: superseded, ${err.message}` };
      }
      const message = errorText(err);
      // The preview stays as recorded (creating, deploying, deleting) for the next start to finish.
      if (this.stopping) return { status: 'interrupted', outcome: `interrupted by a stop: ${message}` };
      await this.deps.store.update(pr.repo, pr.number, { status: 'failed', note: message });
      await this.changed(pr.repo, pr.number);
      return { status: 'failed', outcome: `${decision.reason}: ${message}` };
    }
    const took = ((this.now().getTime() - started) / 1000).toFixed(1);
    // A new preview may put the repository over its cap: the oldest go, each with a note.
    if (decision.actions.some((a) => a.kind === 'create')) await this.reap(pr.repo);
    return { status: 'done', outcome: `${decision.reason} (${took} s)` };
  }

  /**
   * Tears down the previews past their time to live and, per repository, the oldest beyond its
   * cap (of `repo` only, when given), each with a note saying why. A failure is noted on the
   * preview and the others go on.
   */
  async reap(repo?: string): Promise<Reaped[]> {
    const cfg = this.deps.config();
    const open = (await this.deps.store.listOpen()).filter((r) => repo === undefined || r.repo === repo);
    const caps = new Map<string, number>();
    for (const r of open) {
      const found = previewRepository(cfg, r.repo);
      if (found) caps.set(r.repo, found.repo.maxOpen);
    }
    const chosen = selectReaped(
      open.map((r) => ({ repo: r.repo, number: r.number, createdAt: r.created_at, expiresAt: r.expires_at })),
      this.now().getTime(),
      caps,
    );
    for (const c of chosen) {
      const row = open.find((r) => r.repo === c.repo && r.number === c.number)!;
      const found = previewRepository(cfg, c.repo);
      if (!found) continue;
      try {
        await this.run({ kind: 'teardown', reason: c.note }, { preview: row, repository: found.repo }, row);
      } catch (err) {
        if (this.stopping) return chosen;
        await this.deps.store.update(c.repo, c.number, { status: 'failed', note: `${c.note}; ${errorText(err)}` });
        await this.changed(c.repo, c.number);
      }
    }
    return chosen;
  }

  private async changed(repo: string, number: number): Promise<void> {
    await this.deps.onChange?.(repo, number).catch(() => undefined);
  }

  private async run(action: PreviewAction, t: RunnerTarget, row: PreviewRow, deliveryId?: string): Promise<PreviewRow> {
    const { repo, number } = row;
    const set = async (patch: Partial<PreviewRow>): Promise<PreviewRow> => {
      const next = { ...row, ...patch, updated_at: this.now().toISOString() };
      await this.deps.store.update(repo, number, next);
      await this.changed(repo, number);
      return next;
    };
    switch (action.kind) {
      case 'create': {
        const ttl = parseDuration(t.repository.ttl, 'ttl');
        const at = this.now();
        row = await set({
          status: 'creating',
          note: null,
          closed_at: null,
          created_at: at.toISOString(),
          expires_at: new Date(at.getTime() + ttl * 1000).toISOString(),
          services: '[]',
        });
        await this.deps.runner.create({ ...t, preview: row }, { copySecrets: action.copySecrets });
        return row;
      }
      case 'copy-secrets':
        await this.deps.runner.copySecrets({ ...t, preview: row });
        return set({ trusted: 1 });
      case 'deploy': {
        row = await set({ status: 'deploying', head_sha: action.headSha });
        const services = await this.deps.runner.deploy({ ...t, preview: row }, action.headSha, {
          cancelOlder: action.cancelOlder,
          ...(deliveryId ? { superseded: () => this.deps.store.supersededBy(repo, number, deliveryId) } : {}),
        });
        const healthy = services.every((s) => s.status === 'healthy');
        return set({
          status: healthy ? 'ready' : 'failed',
          services: JSON.stringify(services),
          note: healthy
            ? null
            : `not healthy: ${services
                .filter((s) => s.status !== 'healthy')
                .map((s) => `${s.service} ${s.status}`)
                .join(', ')}`,
        });
      }
      case 'teardown': {
        // closed_at: when the teardown started (kept when a restart redoes it), for its time taken.
        const closedAt = row.status === 'deleting' && row.closed_at ? row.closed_at : this.now().toISOString();
        row = await set({ status: 'deleting', note: action.reason, closed_at: closedAt });
        await this.deps.runner.teardown({ ...t, preview: row }, action.reason);
        return set({ status: 'deleted' });
      }
    }
  }

  /** The row before any action: the head and title of this event, the environment's name. */
  private async record(pr: PullRequestInfo, current: PreviewRow | undefined, trusted: boolean): Promise<PreviewRow> {
    const at = this.now().toISOString();
    const row: PreviewRow = {
      repo: pr.repo,
      number: pr.number,
      env: current?.env ?? previewEnvName(pr.repo, pr.number),
      status: current?.status ?? 'creating',
      // The commit served; a preview about to be made (again) checks this event's head first.
      head_sha: current && previewExists(stateOf(current)) ? current.head_sha : pr.headSha,
      head_ref: pr.headRef,
      head_repo: pr.headRepo,
      fork: pr.fork ? 1 : 0,
      trusted: trusted ? 1 : 0,
      title: pr.title,
      author: pr.author,
      services: current?.services ?? '[]',
      note: current?.note ?? null,
      comment_id: current?.comment_id ?? null,
      created_at: current?.created_at ?? at,
      updated_at: at,
      expires_at: current?.expires_at ?? null,
      closed_at: current?.closed_at ?? null,
    };
    await this.deps.store.save(row);
    return row;
  }
}
