/**
 * The preview life cycle as a pure reducer: `decidePreview(event, current, policy)` says what a
 * pull request event does to its preview environment, as actions a runner carries out in order.
 * Nothing here does I/O or reads a clock, so every rule is testable on its own. The runner
 * resolves what needs a lookup (is the sender a member of the owning team) before calling it.
 *
 * Rules:
 * - opened / reopened / ready_for_review / synchronize (and an operator's redeploy) on an open pull
 *   request that is wanted (not a draft unless drafts are allowed, no opt-out label): create the
 *   environment if there is none, then deploy the head commit. A synchronize's deploy cancels an
 *   older rollout still running. The same commit already served is left alone (a redelivery).
 * - closed (merged or not): tear everything down.
 * - labeled with the opt-out label, converted_to_draft (drafts not allowed): tear down.
 *   unlabeled opt-out label: create again.
 * - Forks run untrusted code: their preview gets no secrets copied from the base until a member of
 *   the owning team adds the trust label (then the secrets are copied and the head redeployed).
 *   The trust label added by anyone else changes nothing. Removing it rebuilds the preview without
 *   secrets. A same-repository pull request is always trusted.
 * - Anything else is ignored, with the reason recorded.
 */

export type PreviewLifecycleStatus = 'creating' | 'deploying' | 'ready' | 'failed' | 'deleting' | 'deleted' | 'skipped';

export interface PreviewPolicy {
  /** Drafts get previews too. */
  drafts: boolean;
  /** A label that opts a pull request out of previews (null: none). */
  optOutLabel: string | null;
  /** A label that, added by a member of the owning team, gives a fork's preview the base's secrets. */
  trustLabel: string | null;
}

/** A pull_request event as the reducer needs it (the runner maps GitHub's payload to this). */
export interface PullRequestEvent {
  /** GitHub's action, or `redeploy` for an operator's redeploy. */
  action: string;
  /** The pull request is open (state open) after the event. */
  open: boolean;
  draft: boolean;
  headSha: string;
  /** The head repository is not the base repository. */
  fork: boolean;
  /** The labels on the pull request after the event. */
  labels: readonly string[];
  /** The label added or removed (labeled / unlabeled). */
  label: string | null;
  /** The sender maps to an idp user who is a member of the owning team. */
  senderIsTeamMember: boolean;
  merged: boolean;
}

/** What the runner knows of the preview now (null: none was ever made). */
export interface PreviewState {
  status: PreviewLifecycleStatus;
  headSha: string;
  trusted: boolean;
}

export type PreviewAction =
  | { kind: 'create'; copySecrets: boolean }
  | { kind: 'copy-secrets' }
  | { kind: 'deploy'; headSha: string; cancelOlder: boolean }
  | { kind: 'teardown'; reason: string };

export interface PreviewDecision {
  /** `act`: carry out the actions; `ignored`: nothing to do, see reason. */
  outcome: 'act' | 'ignored';
  reason: string;
  actions: PreviewAction[];
  /** Whether the preview may hold the base's secrets after this event. */
  trusted: boolean;
}

const DEPLOYING = new Set(['opened', 'reopened', 'ready_for_review', 'synchronize', 'redeploy']);

/** An environment exists (or is being made) for this preview. */
export function previewExists(state: PreviewState | null): boolean {
  return state !== null && state.status !== 'deleted' && state.status !== 'deleting' && state.status !== 'skipped';
}

function hasLabel(labels: readonly string[], label: string | null): boolean {
  return label !== null && labels.includes(label);
}

/** Why a pull request does not get a preview now, or null when it does. */
export function unwantedReason(event: PullRequestEvent, policy: PreviewPolicy): string | null {
  if (!event.open) return 'the pull request is closed';
  if (event.draft && !policy.drafts) return 'drafts get no preview';
  if (hasLabel(event.labels, policy.optOutLabel)) return `the label ${policy.optOutLabel} opts out`;
  return null;
}

function ignore(reason: string, trusted: boolean): PreviewDecision {
  return { outcome: 'ignored', reason, actions: [], trusted };
}

function act(reason: string, actions: PreviewAction[], trusted: boolean): PreviewDecision {
  return { outcome: 'act', reason, actions, trusted };
}

function trustOf(event: PullRequestEvent, current: PreviewState | null, policy: PreviewPolicy): boolean {
  if (!event.fork) return true;
  // An operator's redeploy carries no labels: the preview keeps the trust it has.
  if (event.action === 'redeploy') return previewExists(current) && (current?.trusted ?? false);
  if (!hasLabel(event.labels, policy.trustLabel)) return false;
  // Granted only by the event of a member of the owning team adding the label; kept while it stays.
  if (current?.trusted && previewExists(current)) return true;
  return event.action === 'labeled' && event.label === policy.trustLabel && event.senderIsTeamMember;
}

/** Creates the preview (if needed) and deploys the head. */
function bringUp(
  event: PullRequestEvent,
  current: PreviewState | null,
  trusted: boolean,
  reason: string,
): PreviewDecision {
  const cancelOlder = event.action === 'synchronize' || event.action === 'redeploy';
  const deploy: PreviewAction = { kind: 'deploy', headSha: event.headSha, cancelOlder };
  // Left creating (a restart while the environment was being made): made again, which waits for it.
  if (!previewExists(current) || current!.status === 'creating')
    return act(reason, [{ kind: 'create', copySecrets: trusted }, deploy], trusted);
  // Only a finished deploy counts: creating/deploying seen here means an earlier attempt stopped mid-way.
  if (event.action !== 'redeploy' && current!.status === 'ready' && current!.headSha === event.headSha)
    return ignore(`the commit ${event.headSha.slice(0, 12)} is already deployed`, current!.trusted);
  return act(reason, [deploy], trusted);
}

export function decidePreview(
  event: PullRequestEvent,
  current: PreviewState | null,
  policy: PreviewPolicy,
): PreviewDecision {
  const exists = previewExists(current);
  // A teardown a restart interrupted is done again (the runner's teardown is idempotent).
  const held = exists || current?.status === 'deleting';
  const wasTrusted = current?.trusted ?? false;
  const unwanted = unwantedReason(event, policy);
  const trusted = trustOf(event, current, policy);

  if (event.action === 'closed') {
    const why = event.merged ? 'the pull request was merged' : 'the pull request was closed';
    return held ? act(why, [{ kind: 'teardown', reason: why }], false) : ignore(`${why}; no preview to remove`, false);
  }

  if (DEPLOYING.has(event.action)) {
    if (unwanted) {
      if (held) return act(unwanted, [{ kind: 'teardown', reason: unwanted }], false);
      return ignore(unwanted, wasTrusted);
    }
    return bringUp(event, current, trusted, `${event.action}: deploying ${event.headSha.slice(0, 12)}`);
  }

  if (event.action === 'converted_to_draft') {
    if (held && unwanted) return act(unwanted, [{ kind: 'teardown', reason: unwanted }], false);
    return ignore(unwanted ?? 'drafts keep their preview', wasTrusted);
  }

  if (event.action === 'labeled' || event.action === 'unlabeled') {
    const added = event.action === 'labeled';
    const label = event.label;
    if (label !== null && label === policy.optOutLabel) {
      if (added) {
        const why = `the label ${label} opts out`;
        return held ? act(why, [{ kind: 'teardown', reason: why }], false) : ignore(why, wasTrusted);
      }
      if (unwanted) return ignore(unwanted, wasTrusted);
      return bringUp(event, current, trusted, `the label ${label} was removed: creating the preview`);
    }
    if (label !== null && label === policy.trustLabel && event.fork) {
      if (added) {
        if (!event.senderIsTeamMember)
          return ignore(`the label ${label} was added by someone outside the owning team; not trusted`, wasTrusted);
        if (!exists) {
          if (unwanted) return ignore(unwanted, true);
          return bringUp(event, current, true, `the label ${label} was added by a team member: creating the preview`);
        }
        if (wasTrusted) return ignore('the preview is already trusted', true);
        return act(
          `the label ${label} was added by a team member: copying the base's secrets`,
          [{ kind: 'copy-secrets' }, { kind: 'deploy', headSha: event.headSha, cancelOlder: true }],
          true,
        );
      }
      if (exists && wasTrusted) {
        const why = `the label ${label} was removed: rebuilding the preview without secrets`;
        return act(
          why,
          [
            { kind: 'teardown', reason: why },
            { kind: 'create', copySecrets: false },
            { kind: 'deploy', headSha: event.headSha, cancelOlder: true },
          ],
          false,
        );
      }
      return ignore(`the label ${label} was removed; the preview held no secrets`, false);
    }
    return ignore(`the label ${label ?? '(none)'} does not change previews`, wasTrusted);
  }

  return ignore(`the action ${event.action} does not change previews`, wasTrusted);
}
