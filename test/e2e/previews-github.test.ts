import { appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, versionOf, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { startGithubFake, type GithubFake } from '../support/github-fake.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { VERSION_SERVER_JS } from '../support/tiny-service.ts';
import { waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// The whole path from a signed webhook to what the pull request shows on GitHub: a running control
// plane whose previews.github.apiUrl is a local recording server (with a token it checks), sent
// GitHub's own example payloads. The test asserts the calls GitHub received: the commit status
// idp/preview (pending, then success linking to the preview, or failure saying why) and one
// comment per pull request, updated in place as the preview is deployed, pushed to and torn down.

const ok = await storesAvailable();
const SECRET = 'e2e-previews-github-Secret-8Lp3';
const TOKEN = 'ghs_e2e-previews-github-token';

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

describe.skipIf(!ok)('previews: webhook to GitHub statuses and comment, on a running server', () => {
  let fx: EnvFixture;
  let github: GithubFake;
  let server: TestServer;
  let repo: ServiceRepo;
  /** Codertocat/gh-<run id>: fetched from a local repository. */
  let repoName = '';
  /** Codertocat/ghbad-<run id>: its clone URL leads nowhere. */
  let brokenName = '';
  let envName = '';

  const payload = (name: string, action: string, sha: string, number: number) => {
    const p = examplePayload('pull_request', action);
    p.repository.full_name = name;
    p.pull_request.head.repo.full_name = name;
    p.number = number;
    p.pull_request.number = number;
    p.pull_request.head.sha = sha;
    return p;
  };
  const pushPr = (text: string, number: number) => {
    repo.write('api/server.js', `${VERSION_SERVER_JS}// ${text}\n`);
    const sha = repo.commit(text);
    execFileSync('git', ['update-ref', `refs/pull/${number}/head`, sha], { cwd: repo.dir });
    return sha;
  };
  const previewRow = (name: string, number: number) =>
    server.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', name)
      .where('number', '=', number)
      .executeTakeFirst();
  const finished = (id: string) =>
    waitUntil(
      `delivery ${id} processed`,
      async () => {
        const d = await server.services.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirst();
        return d && ['done', 'ignored', 'failed'].includes(d.status) ? d : null;
      },
      { timeout: 120_000 },
    );
  /** The statuses GitHub received for one commit, as [state, target_url]. */
  const statusesOf = (name: string, sha: string) =>
    github
      .statuses()
      .filter((s) => s.repo === name && s.sha === sha)
      .map((s) => {
        expect(s.context).toBe('idp/preview');
        return [s.state, s.target_url ?? null] as const;
      });
  const commentsOf = (name: string, number: number) =>
    [...github.comments.values()].filter((c) => c.repo === name && c.number === number);
  /** Waits until the pull request's one comment says `text` (and every report queued was sent). */
  const commentSays = (name: string, number: number, text: string | RegExp) =>
    waitUntil(
      `the comment on ${name}#${number} to say ${String(text)}`,
      async () => {
        const pending = await server.services.store.db
          .selectFrom('preview_reports')
          .select('id')
          .where('repo', '=', name)
          .where('number', '=', number)
          .where('status', '=', 'pending')
          .execute();
        const cs = commentsOf(name, number);
        const last = cs.at(-1)?.body ?? '';
        const says = typeof text === 'string' ? last.includes(text) : text.test(last);
        if (pending.length > 0 || !says) throw new Error(`${pending.length} reports pending; comments: ${last}`);
        return cs;
      },
      { timeout: 30_000 },
    );

  beforeAll(async () => {
    process.env.IDP_TEST_E2E_PREVIEWS_GH_SECRET = SECRET;
    process.env.IDP_TEST_E2E_PREVIEWS_GH_TOKEN = TOKEN;
    github = await startGithubFake({ token: TOKEN });
    fx = envFixture();
    envName = fx.envName('pr-12-gh');
    fx.envName('pr-15-gh');
    fx.envName('pr-5-ghbad');
    repoName = `Codertocat/${envName.slice('pr-12-'.length)}`;
    brokenName = `Codertocat/ghbad-${fx.id}`;
    repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': VERSION_SERVER_JS } });
    repo.commit('main');
    appendFileSync(
      fx.configPath,
      `\npreviews:
  github:
    webhookSecret: {env: IDP_TEST_E2E_PREVIEWS_GH_SECRET}
    apiUrl: ${github.url}
    token: {env: IDP_TEST_E2E_PREVIEWS_GH_TOKEN}
  repositories:
    ${repoName}:
      cloneUrl: file://${repo.dir}
      team: payments
      actAs: alice
    ${brokenName}:
      cloneUrl: file://${repo.dir}-gone
      team: payments
      actAs: alice
`,
    );
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
  }, 60_000);
  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await github?.close();
    await fx?.cleanup();
    repo?.remove();
    delete process.env.IDP_TEST_E2E_PREVIEWS_GH_TOKEN;
  });

  it('opened → pending then success linking to the preview and one comment; synchronize → the same comment names the new commit; closed → the teardown time', async () => {
    const sha1 = pushPr('first', 12);
    const opened = await deliver(server, { body: payload(repoName, 'opened', sha1, 12), secret: SECRET });
    expect(opened.status, opened.text).toBe(202);
    expect(await finished(opened.id), 'opened').toMatchObject({ status: 'done' });
    const row = (await previewRow(repoName, 12))!;
    const [svc] = JSON.parse(row.services) as { url: string; version: string }[];
    const url = svc!.url;
    expect(versionOf(await proxyGet(server.services.deployments.service.proxyPort, new URL(url).host))).toBe(
      svc!.version,
    );

    let comments = await commentSays(repoName, 12, '✅ Ready');
    const states = statusesOf(repoName, sha1);
    expect(states[0]?.[0]).toBe('pending');
    expect(states.at(-1)).toEqual(['success', url]);
    expect(states.filter(([s]) => s !== 'pending')).toEqual([['success', url]]);
    expect(comments).toHaveLength(1);
    const first = comments[0]!;
    expect(first.body).toContain(`| payments-api | <${url}> | healthy |`);
    expect(first.body).toContain(`\`${sha1.slice(0, 12)}\``);
    expect(first.body).toMatch(/Time taken: \d+(\.\d) s\./);
    expect(first.body).toContain(envName);
    expect(github.calls.every((c) => c.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(github.calls.filter((c) => c.answered >= 400)).toEqual([]);
    expect((await previewRow(repoName, 12))!.comment_id).toBe(String(first.id));

    const sha2 = pushPr('second', 12);
    const synced = await deliver(server, { body: payload(repoName, 'synchronize', sha2, 12), secret: SECRET });
    expect(await finished(synced.id), 'synchronize').toMatchObject({ status: 'done' });
    comments = await commentSays(repoName, 12, `\`${sha2.slice(0, 12)}\``);
    expect(comments.map((c) => c.id)).toEqual([first.id]);
    expect(comments[0]!.updates).toBeGreaterThan(0);
    expect(comments[0]!.body).toContain('✅ Ready');
    expect(comments[0]!.body).not.toContain(sha1.slice(0, 12));
    const states2 = statusesOf(repoName, sha2);
    expect(states2[0]?.[0]).toBe('pending');
    expect(states2.filter(([s]) => s !== 'pending')).toEqual([['success', url]]);
    // The earlier commit keeps its own success: nothing more was said about it.
    expect(statusesOf(repoName, sha1)).toEqual(states);

    const closed = await deliver(server, { body: payload(repoName, 'closed', sha2, 12), secret: SECRET });
    expect(await finished(closed.id), 'closed').toMatchObject({ status: 'done' });
    comments = await commentSays(repoName, 12, /Torn down at \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+(\.\d)? s\)\./);
    expect(comments.map((c) => c.id)).toEqual([first.id]);
    expect(comments[0]!.body).toContain('🗑️ Torn down');
    expect(comments[0]!.body).not.toContain(url);
    expect(statusesOf(repoName, sha2)).toEqual(states2);
    // The time taken runs from the close to the last thing gone.
    const gone = (await previewRow(repoName, 12))!;
    expect(gone.status).toBe('deleted');
    expect(comments[0]!.body).toContain(`Torn down at ${gone.updated_at} (in `);
    expect(Date.parse(gone.closed_at!)).toBeLessThan(Date.parse(gone.updated_at));
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 300_000);

  it('a head commit that does not exist → a failure status and the comment saying why, nothing made', async () => {
    const missing = 'e'.repeat(40);
    const r = await deliver(server, { body: payload(repoName, 'opened', missing, 15), secret: SECRET });
    expect(r.status, r.text).toBe(202);
    expect(await finished(r.id)).toMatchObject({
      status: 'failed',
      outcome: expect.stringMatching(/could not be fetched/),
    });
    const comments = await commentSays(repoName, 15, '❌ Failed');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/Note: .*could not be fetched/);
    expect(comments[0]!.body).toContain('eeeeeeeeeeee');
    const states = statusesOf(repoName, missing);
    expect(states.at(-1)?.[0]).toBe('failure');
    const failure = github.statuses().filter((s) => s.sha === missing && s.state === 'failure');
    expect(failure).toHaveLength(1);
    expect(failure[0]!.description).toMatch(/^Preview failed: .*could not be fetched/);
    expect(await previewRow(repoName, 15)).toMatchObject({ status: 'failed' });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 120_000);

  it('a repository that cannot be fetched → a failure status and the comment saying why, nothing made', async () => {
    const sha = 'a'.repeat(40);
    const r = await deliver(server, { body: payload(brokenName, 'opened', sha, 5), secret: SECRET });
    expect(r.status, r.text).toBe(202);
    const d = await finished(r.id);
    expect(d).toMatchObject({ status: 'failed' });
    const comments = await commentSays(brokenName, 5, '❌ Failed');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/Note: .*could not be fetched/);
    const failure = github.statuses().filter((s) => s.repo === brokenName && s.state === 'failure');
    expect(failure.map((s) => s.sha)).toEqual([sha]);
    expect(statusesOf(brokenName, sha).at(-1)?.[0]).toBe('failure');
    expect(await previewRow(brokenName, 5)).toMatchObject({ status: 'failed' });
    const alice = { principal: server.services.tokens.principalFor('user:default/alice', null), requestId: 't' };
    await expect(server.services.environments.get(alice, `pr-5-ghbad-${fx.id}`)).rejects.toMatchObject({
      code: 'ENV_NOT_FOUND',
    });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 120_000);
});
