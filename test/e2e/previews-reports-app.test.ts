import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commentBody,
  commitStatus,
  type CommentInput,
} from '../../packages/server/src/capabilities/previews/comment.ts';
import { PreviewReports } from '../../packages/server/src/capabilities/previews/reports.ts';
import { acmeConfigWith } from '../support/config.ts';
import { startGithubFake, type GithubFake } from '../support/github-fake.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';

// A running server configured with a GitHub App (the key in a 0600 file, no installation id)
// sends a preview's commit status and comment: it finds the App's installation on the
// repository, exchanges a signed JWT for an installation token and uses that token; when GitHub
// stops accepting the token the server gets a new one and the reports still go out.

const REPO = 'acme/payments';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const APP_ID = 31337;
const INSTALLATION = 5150;

describe('previews: reports to GitHub as a GitHub App, from a running server', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'idp-e2e-app-key-'));
  const keyFile = join(dir, 'app.pem');
  const logs: string[] = [];
  let github: GithubFake;
  let server: TestServer;
  let config: string;
  let queue: PreviewReports;

  const preview = (status: CommentInput['status']): CommentInput => ({
    repo: REPO,
    number: 31,
    env: 'pr-31-acme-payments',
    status,
    headSha: SHA,
    headRef: 'feature/app',
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
    finishedAt: status === 'ready' ? '2026-12-01T10:00:02.000Z' : null,
    expiresAt: null,
    closedAt: null,
    deletedAt: null,
  });

  async function queued(status: CommentInput['status']) {
    const p = preview(status);
    const s = commitStatus(p);
    if (s) await queue.enqueue(REPO, 31, 'status', SHA, s);
    await queue.enqueue(REPO, 31, 'comment', SHA, { markdown: commentBody(p) });
  }
  const rows = () =>
    server.services.store.db.selectFrom('preview_reports').selectAll().where('number', '=', 31).execute();

  beforeAll(async () => {
    writeFileSync(keyFile, pem, { mode: 0o600 });
    github = await startGithubFake({
      app: { appId: APP_ID, publicKey, installations: { [REPO]: INSTALLATION }, tokenTtlMs: 3_600_000 },
    });
    config = acmeConfigWith('e2e-preview-reports-app', ['previews'], {
      github: { apiUrl: github.url, app: { appId: APP_ID, privateKey: { file: keyFile } } },
      repositories: { [REPO]: { cloneUrl: 'file:///nonexistent/payments.git', team: 'payments' } },
    });
    server = await startTestServer({
      catalogTimer: false,
      environmentTimers: false,
      configPath: config,
      log: (l) => logs.push(l),
    });
    const now = new Date().toISOString();
    await server.services.store.db
      .insertInto('previews')
      .values({
        repo: REPO,
        number: 31,
        env: 'pr-31-acme-payments',
        status: 'ready',
        head_sha: SHA,
        head_ref: 'feature/app',
        head_repo: REPO,
        fork: 0,
        trusted: 0,
        title: 'App reports',
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
    rmSync(dir, { recursive: true, force: true });
  });

  it('pending then success and one comment, sent with an installation token got with the App JWT', async () => {
    await queued('deploying');
    await waitUntil('the pending status and the comment sent', async () =>
      (await rows()).every((r) => r.status === 'sent'),
    );
    expect(github.calls.slice(0, 2).map((c) => `${c.method} ${c.path} ${c.answered}`)).toEqual([
      `GET /repos/acme/payments/installation 200`,
      `POST /app/installations/${INSTALLATION}/access_tokens 201`,
    ]);
    expect(github.jwts.map((j) => String(j.iss))).toEqual([String(APP_ID), String(APP_ID)]);
    const [first] = github.issued;

    // GitHub stops accepting that token: the next report gets a 401, a new token, and goes out.
    github.revokeTokens();
    await queued('ready');
    await waitUntil('the success status and the comment update sent', async () =>
      (await rows()).every((r) => r.status === 'sent'),
    );
    expect(github.issued).toHaveLength(2);
    const second = github.issued[1]!;

    expect(github.statuses().map((s) => [s.state, s.context, s.target_url])).toEqual([
      ['pending', 'idp/preview', 'http://pay.localhost:7080'],
      ['success', 'idp/preview', 'http://pay.localhost:7080'],
    ]);
    const comments = [...github.comments.values()];
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ repo: REPO, number: 31, updates: 1 });
    expect(comments[0]?.body).toContain('✅ Ready');
    const reports = github.calls.filter(
      (c) => c.path.startsWith('/repos/acme/payments/') && !c.path.endsWith('/installation'),
    );
    expect(reports.filter((c) => c.answered === 401).map((c) => c.authorization)).toEqual([`Bearer ${first!.token}`]);
    expect(reports.filter((c) => c.answered !== 401).map((c) => c.authorization?.replace(/^Bearer /, ''))).toEqual([
      first!.token,
      first!.token,
      second.token,
      second.token,
    ]);

    const stored = JSON.stringify(await rows());
    for (const t of [first!.token, second.token, pem.split('\n')[1]!]) {
      expect(stored).not.toContain(t);
      expect(logs.join('\n')).not.toContain(t);
    }
  });
});
