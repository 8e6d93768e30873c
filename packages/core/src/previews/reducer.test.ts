import { describe, expect, it } from 'vitest';
import { decidePreview, type PreviewPolicy, type PreviewState, type PullRequestEvent } from './reducer.ts';

const policy: PreviewPolicy = { drafts: false, optOutLabel: 'no-preview', trustLabel: 'preview-trusted' };
const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

function ev(action: string, over: Partial<PullRequestEvent> = {}): PullRequestEvent {
  return {
    action,
    open: action !== 'closed',
    draft: false,
    headSha: SHA1,
    fork: false,
    labels: [],
    label: null,
    senderIsTeamMember: false,
    merged: false,
    ...over,
  };
}
const ready = (over: Partial<PreviewState> = {}): PreviewState => ({
  status: 'ready',
  headSha: SHA1,
  trusted: true,
  ...over,
});

describe('preview reducer', () => {
  it.each(['opened', 'reopened', 'ready_for_review'])(
    '%s creates the preview with secrets and deploys the head',
    (a) => {
      const d = decidePreview(ev(a), null, policy);
      expect(d.outcome).toBe('act');
      expect(d.actions).toEqual([
        { kind: 'create', copySecrets: true },
        { kind: 'deploy', headSha: SHA1, cancelOlder: false },
      ]);
      expect(d.trusted).toBe(true);
    },
  );

  it('opened again for a commit already served does nothing (a redelivery)', () => {
    const d = decidePreview(ev('opened'), ready(), policy);
    expect(d.outcome).toBe('ignored');
    expect(d.reason).toMatch(/already deployed/);
  });

  it('recreates after a deleted preview, redeploys a failed one', () => {
    expect(decidePreview(ev('reopened'), ready({ status: 'deleted' }), policy).actions[0]).toEqual({
      kind: 'create',
      copySecrets: true,
    });
    expect(decidePreview(ev('opened'), ready({ status: 'failed' }), policy).actions).toEqual([
      { kind: 'deploy', headSha: SHA1, cancelOlder: false },
    ]);
  });

  it('synchronize deploys the new commit and cancels an older rollout', () => {
    const d = decidePreview(ev('synchronize', { headSha: SHA2 }), ready({ status: 'deploying' }), policy);
    expect(d.actions).toEqual([{ kind: 'deploy', headSha: SHA2, cancelOlder: true }]);
  });

  it('synchronize with no preview (one that failed to be made) creates it', () => {
    expect(decidePreview(ev('synchronize', { headSha: SHA2 }), null, policy).actions.map((a) => a.kind)).toEqual([
      'create',
      'deploy',
    ]);
  });

  it('redeploy deploys the same commit again', () => {
    expect(decidePreview(ev('redeploy'), ready(), policy).actions).toEqual([
      { kind: 'deploy', headSha: SHA1, cancelOlder: true },
    ]);
  });

  it.each([true, false])('closed (merged %s) tears everything down', (merged) => {
    const d = decidePreview(ev('closed', { merged }), ready(), policy);
    expect(d.actions).toEqual([{ kind: 'teardown', reason: expect.stringMatching(merged ? /merged/ : /closed/) }]);
    expect(decidePreview(ev('closed', { merged }), null, policy).outcome).toBe('ignored');
    expect(decidePreview(ev('closed', { merged }), ready({ status: 'deleted' }), policy).outcome).toBe('ignored');
    // A teardown a restart interrupted (left deleting) is done again when the delivery is redone.
    expect(decidePreview(ev('closed', { merged }), ready({ status: 'deleting' }), policy).actions).toEqual([
      { kind: 'teardown', reason: expect.stringMatching(merged ? /merged/ : /closed/) },
    ]);
  });

  it('drafts are skipped unless configured, and converted_to_draft tears down', () => {
    expect(decidePreview(ev('opened', { draft: true }), null, policy)).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/draft/),
    });
    expect(decidePreview(ev('opened', { draft: true }), null, { ...policy, drafts: true }).outcome).toBe('act');
    expect(decidePreview(ev('converted_to_draft', { draft: true }), ready(), policy).actions[0]!.kind).toBe('teardown');
    expect(decidePreview(ev('converted_to_draft', { draft: true }), ready(), { ...policy, drafts: true }).outcome).toBe(
      'ignored',
    );
    expect(decidePreview(ev('ready_for_review'), null, policy).actions[0]!.kind).toBe('create');
  });

  it('the opt-out label tears down when added and creates when removed', () => {
    const added = decidePreview(ev('labeled', { labels: ['no-preview'], label: 'no-preview' }), ready(), policy);
    expect(added.actions).toEqual([{ kind: 'teardown', reason: expect.stringMatching(/no-preview/) }]);
    expect(decidePreview(ev('opened', { labels: ['no-preview'] }), null, policy).outcome).toBe('ignored');
    expect(decidePreview(ev('synchronize', { labels: ['no-preview'] }), ready(), policy).actions[0]!.kind).toBe(
      'teardown',
    );
    const removed = decidePreview(ev('unlabeled', { label: 'no-preview' }), ready({ status: 'deleted' }), policy);
    expect(removed.actions.map((a) => a.kind)).toEqual(['create', 'deploy']);
    expect(decidePreview(ev('unlabeled', { label: 'no-preview', draft: true }), null, policy).outcome).toBe('ignored');
    expect(decidePreview(ev('labeled', { labels: ['bug'], label: 'bug' }), ready(), policy).outcome).toBe('ignored');
  });

  it('labels on a closed pull request make nothing', () => {
    const d = decidePreview(ev('unlabeled', { open: false, label: 'no-preview' }), null, policy);
    expect(d.outcome).toBe('ignored');
  });

  describe('forks', () => {
    const fork = { fork: true };

    it('a fork preview gets no secrets', () => {
      const d = decidePreview(ev('opened', fork), null, policy);
      expect(d.actions[0]).toEqual({ kind: 'create', copySecrets: false });
      expect(d.trusted).toBe(false);
    });

    it('the trust label at open, or carried by a later push, grants nothing by itself', () => {
      expect(decidePreview(ev('opened', { ...fork, labels: ['preview-trusted'] }), null, policy).trusted).toBe(false);
      const push = ev('synchronize', {
        ...fork,
        headSha: SHA2,
        labels: ['preview-trusted'],
        senderIsTeamMember: true,
      });
      expect(decidePreview(push, ready({ trusted: false }), policy).trusted).toBe(false);
    });

    it('the trust label added by a team member copies the secrets and redeploys', () => {
      const d = decidePreview(
        ev('labeled', { ...fork, labels: ['preview-trusted'], label: 'preview-trusted', senderIsTeamMember: true }),
        ready({ trusted: false }),
        policy,
      );
      expect(d.actions).toEqual([{ kind: 'copy-secrets' }, { kind: 'deploy', headSha: SHA1, cancelOlder: true }]);
      expect(d.trusted).toBe(true);
    });

    it('the trust label added by anyone else is ignored', () => {
      const d = decidePreview(
        ev('labeled', { ...fork, labels: ['preview-trusted'], label: 'preview-trusted' }),
        ready({ trusted: false }),
        policy,
      );
      expect(d).toMatchObject({ outcome: 'ignored', trusted: false, reason: expect.stringMatching(/outside/) });
    });

    it('trust is kept on later pushes while the label stays', () => {
      const d = decidePreview(
        ev('synchronize', { ...fork, headSha: SHA2, labels: ['preview-trusted'] }),
        ready({ trusted: true }),
        policy,
      );
      expect(d).toMatchObject({ outcome: 'act', trusted: true });
    });

    it('removing the trust label rebuilds the preview without secrets', () => {
      const d = decidePreview(ev('unlabeled', { ...fork, label: 'preview-trusted' }), ready({ trusted: true }), policy);
      expect(d.actions.map((a) => a.kind)).toEqual(['teardown', 'create', 'deploy']);
      expect(d.actions[1]).toEqual({ kind: 'create', copySecrets: false });
      expect(d.trusted).toBe(false);
    });

    it('the trust label added by a member before any preview creates it with secrets', () => {
      const d = decidePreview(
        ev('labeled', { ...fork, labels: ['preview-trusted'], label: 'preview-trusted', senderIsTeamMember: true }),
        null,
        policy,
      );
      expect(d.actions[0]).toEqual({ kind: 'create', copySecrets: true });
    });

    it("an operator's redeploy keeps the trust a fork's preview has, and grants none", () => {
      expect(decidePreview(ev('redeploy', fork), ready({ trusted: true }), policy).trusted).toBe(true);
      expect(decidePreview(ev('redeploy', fork), ready({ trusted: false }), policy).trusted).toBe(false);
      expect(decidePreview(ev('redeploy', fork), null, policy).actions[0]).toEqual({
        kind: 'create',
        copySecrets: false,
      });
    });

    it('same-repository pull requests ignore the trust label', () => {
      const d = decidePreview(
        ev('labeled', { labels: ['preview-trusted'], label: 'preview-trusted' }),
        ready(),
        policy,
      );
      expect(d.outcome).toBe('ignored');
    });
  });

  it('other actions are ignored with a reason', () => {
    for (const a of ['edited', 'assigned', 'review_requested', 'locked'])
      expect(decidePreview(ev(a), ready(), policy)).toMatchObject({
        outcome: 'ignored',
        reason: expect.stringContaining(a),
      });
  });
});

describe('preview reducer after a stop mid-way', () => {
  it('a preview left deploying for the same commit is deployed again', () => {
    expect(decidePreview(ev('opened'), ready({ status: 'deploying' }), policy).actions).toEqual([
      { kind: 'deploy', headSha: SHA1, cancelOlder: false },
    ]);
  });

  it('a preview left creating is made again (waiting for the environment) before the deploy', () => {
    expect(decidePreview(ev('opened'), ready({ status: 'creating' }), policy).actions).toEqual([
      { kind: 'create', copySecrets: true },
      { kind: 'deploy', headSha: SHA1, cancelOlder: false },
    ]);
  });

  it('a preview left deleting is torn down again by a close', () => {
    expect(decidePreview(ev('closed'), ready({ status: 'deleting' }), policy).actions).toEqual([
      { kind: 'teardown', reason: 'the pull request was closed' },
    ]);
  });
});
