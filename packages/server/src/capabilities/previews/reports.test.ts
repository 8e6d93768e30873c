import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGithubFake, type GithubFake } from '../../../../../test/support/github-fake.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import type { CommentInput } from './comment.ts';
import { GithubClient } from './github-client.ts';
import { PreviewReports } from './reports.ts';

const TOKEN = 'ghp_test-token-never-logged';
const SHA = 'b'.repeat(40);
const REPO = 'acme/payments';

describe('preview reports to GitHub (outbox)', () => {
  const tmp = tempSqliteStore('preview-reports');
  let github: GithubFake;
  let now = new Date('2026-12-01T10:00:00.000Z');
  const clock = { now: () => now };
  const logs: string[] = [];
  let number = 0;

  beforeAll(async () => {
    github = await startGithubFake({ token: TOKEN });
  });
  afterAll(async () => {
    await github.close();
  });
  beforeEach(async () => {
    number++;
    github.setDown(false);
    github.calls.length = 0;
    await tmp.store.db
      .insertInto('previews')
      .values({
        repo: REPO,
        number,
        env: `pr-${number}-acme-payments`,
        status: 'creating',
        head_sha: SHA,
        head_ref: 'feature',
        head_repo: REPO,
        fork: 0,
        trusted: 0,
        title: 't',
        author: 'octocat',
        services: '[]',
        note: null,
        comment_id: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        expires_at: null,
        closed_at: null,
      })
      .execute();
  });

  function reports(client: GithubClient | null = new GithubClient({ apiUrl: github.url, token: TOKEN })) {
    return new PreviewReports({ db: tmp.store.db, client, clock, log: (l) => logs.push(l) });
  }

  function preview(status: CommentInput['status'], over: Partial<CommentInput> = {}): CommentInput {
    return {
      repo: REPO,
      number,
      env: `pr-${number}-acme-payments`,
      status,
      headSha: SHA,
      headRef: 'feature',
      fork: false,
      trusted: false,
      services: [
        {
          service: 'payments-api',
          version: null,
          status: 'progressing',
          url: 'http://p.localhost',
          deploymentId: null,
        },
      ],
      note: null,
      startedAt: null,
      finishedAt: null,
      expiresAt: null,
      closedAt: null,
      deletedAt: null,
      ...over,
    };
  }

  const rows = () =>
    tmp.store.db.selectFrom('preview_reports').selectAll().where('number', '=', number).orderBy('id').execute();

  it('sends pending then success with the preview URL, and one comment updated in place', async () => {
    const r = reports();
    await r.report(preview('deploying'));
    await r.flush();
    await r.report(preview('ready'));
    await r.flush();

    const mine = github.statuses().filter((s) => s.sha === SHA);
    expect(mine.map((s) => [s.state, s.context, s.target_url])).toEqual([
      ['pending', 'idp/preview', 'http://p.localhost'],
      ['success', 'idp/preview', 'http://p.localhost'],
    ]);
    const comments = [...github.comments.values()].filter((c) => c.number === number);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.updates).toBe(1);
    expect(comments[0]?.body).toContain('✅ Ready');
    const row = await tmp.store.db
      .selectFrom('previews')
      .select('comment_id')
      .where('number', '=', number)
      .executeTakeFirstOrThrow();
    expect(row.comment_id).toBe(String(comments[0]?.id));
    expect((await rows()).map((x) => x.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(github.calls.every((c) => c.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('GitHub down: retried with backoff once due, in order, and only the latest status per commit is sent', async () => {
    const r = reports();
    github.setDown(true);
    await r.report(preview('deploying'));
    await r.flush();
    let queued = await rows();
    expect(queued.map((x) => [x.kind, x.status, x.attempts])).toEqual([
      ['status', 'pending', 1],
      ['comment', 'pending', 1],
    ]);
    expect(queued[0]?.last_error).toContain('503');
    expect(queued[0]?.next_attempt_at).toBe('2026-12-01T10:00:01.000Z');
    for (const x of queued) expect(x.last_error ?? '').not.toContain(TOKEN);

    // Not due yet: nothing is tried.
    const before = github.calls.length;
    await r.flush();
    expect(github.calls.length).toBe(before);

    // A second failure doubles the wait.
    now = new Date(now.getTime() + 1_000);
    await r.flush();
    queued = await rows();
    expect(queued[0]?.attempts).toBe(2);
    expect(queued[0]?.next_attempt_at).toBe(new Date(now.getTime() + 2_000).toISOString());

    // Meanwhile the preview became ready; GitHub is back.
    await r.report(preview('ready'));
    await r.flush(); // the send that report() started, still against a GitHub that is down
    github.setDown(false);
    now = new Date(now.getTime() + 2_000);
    await r.flush();
    queued = await rows();
    expect(queued.map((x) => x.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(queued.filter((x) => x.last_error === 'superseded by a newer report')).toHaveLength(2);
    expect(github.statuses().map((s) => s.state)).toEqual(['success']);
    expect([...github.comments.values()].filter((c) => c.number === number).map((c) => c.updates)).toEqual([0]);
  });

  it('a comment deleted on GitHub is made again, and its new id kept', async () => {
    const r = reports();
    await r.report(preview('deploying'));
    await r.flush();
    const first = [...github.comments.values()].find((c) => c.number === number);
    github.comments.delete(first?.id ?? -1);
    await r.report(preview('ready'));
    await r.flush();
    const again = [...github.comments.values()].filter((c) => c.number === number);
    expect(again).toHaveLength(1);
    expect(again[0]?.id).not.toBe(first?.id);
    const row = await tmp.store.db
      .selectFrom('previews')
      .select('comment_id')
      .where('number', '=', number)
      .executeTakeFirstOrThrow();
    expect(row.comment_id).toBe(String(again[0]?.id));
  });

  it('an answer that retrying cannot fix ends the row as failed at once; the rest still go', async () => {
    const r = reports();
    await r.report(preview('deploying', { headSha: 'not-a-sha' }));
    await r.flush();
    const queued = await rows();
    expect(queued.map((x) => [x.kind, x.status, x.attempts])).toEqual([
      ['status', 'failed', 1],
      ['comment', 'sent', 0],
    ]);
    expect(queued[0]?.last_error).toContain('not a commit SHA');
    expect(logs.some((l) => l.includes(`${REPO}#${number}`) && l.includes('given up'))).toBe(true);
  });

  it('bad credentials are retried (a token may be fixed), never echoed', async () => {
    const r = reports(new GithubClient({ apiUrl: github.url, token: 'wrong-token' }));
    await r.report(preview('deploying'));
    await r.flush();
    const [status] = await rows();
    expect(status).toMatchObject({ status: 'pending', attempts: 1 });
    expect(status?.last_error).toContain('401');
    expect(status?.last_error).not.toContain('wrong-token');
  });

  it('without a token nothing is sent and each row says why', async () => {
    const r = reports(null);
    await r.report(preview('ready'));
    await r.flush();
    expect(github.calls).toHaveLength(0);
    for (const x of await rows()) {
      expect(x.status).toBe('failed');
      expect(x.last_error).toContain('previews.github.token is not configured');
    }
  });

  it('GitHub not answering at all (connection refused) is retried', async () => {
    const r = reports(new GithubClient({ apiUrl: 'http://127.0.0.1:1', token: TOKEN }));
    await r.report(preview('deploying'));
    await r.flush();
    const [status] = await rows();
    expect(status).toMatchObject({ status: 'pending', attempts: 1 });
    expect(status?.last_error).toContain('could not connect');
  });

  it('notify reports the row as it stands: the status for its commit and the comment with the time taken', async () => {
    const r = reports();
    await tmp.store.db
      .insertInto('webhook_deliveries')
      .values({
        id: `d-notify-${number}`,
        event: 'pull_request',
        action: 'opened',
        repo: REPO,
        number,
        payload: '{}',
        status: 'done',
        outcome: null,
        attempts: 1,
        received_at: '2026-12-01T09:59:50.000Z',
        finished_at: null,
      })
      .execute();
    await tmp.store.db
      .updateTable('previews')
      .set({
        status: 'ready',
        updated_at: '2026-12-01T10:00:02.500Z',
        services: JSON.stringify([
          { service: 'payments-api', version: 'v1', status: 'healthy', url: 'http://pay.localhost', deploymentId: 'd' },
        ]),
      })
      .where('number', '=', number)
      .execute();
    await r.notify(REPO, number);
    await r.flush();
    expect(
      github
        .statuses()
        .filter((s) => s.sha === SHA)
        .map((s) => [s.state, s.target_url]),
    ).toEqual([['success', 'http://pay.localhost']]);
    const comment = [...github.comments.values()].find((c) => c.number === number);
    expect(comment?.body).toContain('Time taken: 12.5 s.');
    expect(comment?.body).toContain('<http://pay.localhost>');
    await r.notify(REPO, 99_999); // no such preview: nothing queued, nothing thrown
    expect(
      await tmp.store.db.selectFrom('preview_reports').select('id').where('number', '=', 99_999).execute(),
    ).toEqual([]);
  });

  it('settled reports are kept a week, then dropped; pending ones stay', async () => {
    const r = reports(new GithubClient({ apiUrl: 'http://127.0.0.1:1', token: TOKEN }));
    await r.enqueue(REPO, number, 'comment', SHA, { markdown: 'kept while pending' });
    const sentId = await r.enqueue(REPO, number, 'status', SHA, { state: 'success', targetUrl: null, description: '' });
    await tmp.store.db.updateTable('preview_reports').set({ status: 'sent' }).where('id', '=', sentId).execute();
    await r.flush();
    expect(await rows()).toHaveLength(2);
    now = new Date(now.getTime() + 8 * 24 * 3600_000);
    await r.flush();
    expect((await rows()).map((x) => [x.kind, x.status])).toEqual([['comment', 'pending']]);
  });
});
