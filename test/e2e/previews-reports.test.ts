import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commentBody,
  commitStatus,
  type CommentInput,
} from '../../packages/server/src/capabilities/previews/comment.ts';
import { PreviewReports } from '../../packages/server/src/capabilities/previews/reports.ts';
import { startGithubFake, type GithubFake } from '../support/github-fake.ts';
import { ACME_CONFIG, startTestServer, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';

// The server's reports worker against a local GitHub: the token and API URL come from
// previews.github (the token from an environment variable), what the life cycle queued reaches
// GitHub as commit statuses and one comment updated in place; with GitHub down the reports wait
// and are retried with backoff while the preview itself is left alone, and go out once it is back.

const REPO = 'acme/payments';
const SHA = 'fedcba9876543210fedcba9876543210fedcba98';
const TOKEN = 'ghs_e2e-reports-token';

describe('previews: reports to GitHub from a running server', () => {
  let github: GithubFake;
  let server: TestServer;
  let config: string;
  let queue: PreviewReports;

  const preview = (number: number, status: CommentInput['status']): CommentInput => ({
    repo: REPO,
    number,
    env: `pr-${number}-acme-payments`,
    status,
    headSha: SHA,
    headRef: 'feature/refunds',
    fork: false,
    trusted: false,
    services: [
      {
        service: 'payments-api',
        version: 'v1',
        status: 'healthy',
        url: 'http://pay.localhost:7080',
        deploymentId: 'd',
      },
    ],
    note: null,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:03.000Z',
    expiresAt: null,
    closedAt: null,
    deletedAt: null,
  });

  /** Queues what the life cycle queues for a preview in this state (into the server's own store). */
  async function queued(number: number, status: CommentInput['status']) {
    const p = preview(number, status);
    const s = commitStatus(p);
    if (s) await queue.enqueue(REPO, number, 'status', SHA, s);
    await queue.enqueue(REPO, number, 'comment', SHA, { markdown: commentBody(p) });
  }

  async function insertPreview(number: number) {
    const now = new Date().toISOString();
    await server.services.store.db
      .insertInto('previews')
      .values({
        repo: REPO,
        number,
        env: `pr-${number}-acme-payments`,
        status: 'ready',
        head_sha: SHA,
        head_ref: 'feature/refunds',
        head_repo: REPO,
        fork: 0,
        trusted: 0,
        title: 'Refunds',
        author: 'octocat',
        services: '[]',
        note: null,
        comment_id: null,
        created_at: now,
        updated_at: now,
        expires_at: null,
        closed_at: null,
      })
      .execute();
  }

  const rowsOf = (number: number) =>
    server.services.store.db
      .selectFrom('preview_reports')
      .selectAll()
      .where('number', '=', number)
      .orderBy('id')
      .execute();

  beforeAll(async () => {
    github = await startGithubFake({ token: TOKEN });
    process.env.IDP_TEST_E2E_GITHUB_TOKEN = TOKEN;
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['previews'], {
      github: { apiUrl: github.url, token: { env: 'IDP_TEST_E2E_GITHUB_TOKEN' } },
      repositories: { [REPO]: { cloneUrl: 'file:///nonexistent/payments.git', team: 'payments' } },
    });
    config = join(dirname(ACME_CONFIG), 'idp.e2e-preview-reports.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startTestServer({ catalogTimer: false, environmentTimers: false, configPath: config });
    queue = new PreviewReports({
      db: server.services.store.db,
      client: null,
      clock: { now: () => new Date() },
      log: () => {},
    });
  });

  afterAll(async () => {
    await server?.stop();
    await github?.close();
    rmSync(config, { force: true });
    delete process.env.IDP_TEST_E2E_GITHUB_TOKEN;
  });

  it('pending then success on the commit, and one comment updated in place, with the configured token', async () => {
    await insertPreview(21);
    await queued(21, 'deploying');
    await waitUntil('the pending status and the comment', async () =>
      (await rowsOf(21)).every((r) => r.status === 'sent'),
    );
    await queued(21, 'ready');
    await waitUntil('the success status and the comment update', async () =>
      (await rowsOf(21)).every((r) => r.status === 'sent'),
    );
    expect(github.statuses().map((s) => [s.repo, s.sha, s.state, s.context, s.target_url])).toEqual([
      [REPO, SHA, 'pending', 'idp/preview', 'http://pay.localhost:7080'],
      [REPO, SHA, 'success', 'idp/preview', 'http://pay.localhost:7080'],
    ]);
    const comments = [...github.comments.values()].filter((c) => c.number === 21);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ updates: 1 });
    expect(comments[0]?.body).toContain('✅ Ready');
    expect(comments[0]?.body).toContain('Time taken: 3.0 s.');
    expect(github.calls.every((c) => c.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('GitHub down: retried later with backoff, the preview untouched; once back, the latest state goes out', async () => {
    await insertPreview(22);
    github.setDown(true);
    const failedBefore = github.calls.filter((c) => c.answered === 503).length;
    await queued(22, 'ready');
    await waitUntil('two failed tries of the status', async () => {
      const [status] = await rowsOf(22);
      return status && status.attempts >= 2 && status.status === 'pending';
    });
    const [status] = await rowsOf(22);
    expect(status?.last_error).toContain('503');
    expect(status?.last_error).not.toContain(TOKEN);
    expect(Date.parse(status!.next_attempt_at)).toBeGreaterThan(Date.now() - 1000);
    expect(github.calls.filter((c) => c.answered === 503).length).toBeGreaterThan(failedBefore);
    const row = await server.services.store.db
      .selectFrom('previews')
      .select(['status', 'note'])
      .where('number', '=', 22)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'ready', note: null });

    github.setDown(false);
    await waitUntil(
      'the reports sent once GitHub is back',
      async () => (await rowsOf(22)).every((r) => r.status === 'sent'),
      { timeout: 30_000 },
    );
    expect(github.statuses().filter((s) => s.state === 'success' && s.sha === SHA).length).toBeGreaterThanOrEqual(2);
    expect([...github.comments.values()].filter((c) => c.number === 22)).toHaveLength(1);
  });
});
