import { appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, versionOf, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { VERSION_SERVER_JS } from '../support/tiny-service.ts';
import { waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// Preview environments end to end on a real control plane: GitHub's own example payloads,
// pointed at a local repository with a refs/pull/12/head ref, signed with the configured secret
// and sent to POST /api/webhooks/github. The server's worker hands them to the life cycle, which
// clones staging (its PostgreSQL database, Redis keys and secrets) as the repository's actAs user
// of the owning team, deploys the pull request's commit and serves it through the edge proxy.

const ok = await storesAvailable();
const SECRET = 'e2e-previews-Secret-4Qz9';

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

describe.skipIf(!ok)('preview environments from pull request webhooks', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let repo: ServiceRepo;
  /** Codertocat/prv-<run id>: its preview pr-12-prv-<run id> is one the fixture checks for leftovers. */
  let repoName = '';
  let envName = '';
  let env14 = '';
  let env16 = '';

  const payload = (action: string, sha: string, number = 12) => {
    const p = examplePayload('pull_request', action);
    p.repository.full_name = repoName;
    p.pull_request.head.repo.full_name = repoName;
    p.number = number;
    p.pull_request.number = number;
    p.pull_request.head.sha = sha;
    return p;
  };
  const pushPr = (text: string, number = 12, serverJs = VERSION_SERVER_JS) => {
    repo.write('api/server.js', `${serverJs}// ${text}\n`);
    const sha = repo.commit(text);
    execFileSync('git', ['update-ref', `refs/pull/${number}/head`, sha], { cwd: repo.dir });
    return sha;
  };
  const previewRow = (number = 12) =>
    server.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repoName)
      .where('number', '=', number)
      .executeTakeFirst();
  const deliveryOf = (id: string) =>
    server.services.store.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  const finished = (id: string) =>
    waitUntil(
      `delivery ${id} processed`,
      async () => {
        const d = await deliveryOf(id);
        return d && ['done', 'ignored', 'failed'].includes(d.status) ? d : null;
      },
      { timeout: 120_000 },
    );
  const serving = async (host: string) =>
    versionOf(await proxyGet(server.services.deployments.service.proxyPort, host));

  beforeAll(async () => {
    process.env.IDP_TEST_E2E_PREVIEWS_SECRET = SECRET;
    fx = envFixture();
    envName = fx.envName('pr-12-prv');
    env14 = fx.envName('pr-14-prv');
    fx.envName('pr-15-prv');
    env16 = fx.envName('pr-16-prv');
    repoName = `Codertocat/${envName.slice('pr-12-'.length)}`;
    repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': VERSION_SERVER_JS } });
    repo.commit('main');
    appendFileSync(
      fx.configPath,
      `\npreviews:\n  github:\n    webhookSecret: {env: IDP_TEST_E2E_PREVIEWS_SECRET}\n  repositories:\n    ${repoName}:\n      cloneUrl: file://${repo.dir}\n      team: payments\n      actAs: alice\n      base: staging\n      maxOpen: 1\n`,
    );
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
  }, 60_000);
  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it('opened → the PR commit through the proxy with its own database; synchronize → the new commit; closed → nothing left', async () => {
    const sha1 = pushPr('first');
    const opened = await deliver(server, { body: payload('opened', sha1), secret: SECRET });
    expect(opened.status, opened.text).toBe(202);
    const replay = await deliver(server, { id: opened.id, body: payload('opened', sha1), secret: SECRET });
    expect(replay.json).toMatchObject({ status: 'duplicate' });
    expect(await finished(opened.id), 'opened').toMatchObject({ status: 'done' });

    const row = (await previewRow())!;
    expect(row).toMatchObject({ env: envName, status: 'ready', head_sha: sha1 });
    const services = JSON.parse(row.services) as { url: string; version: string; status: string }[];
    expect(services).toHaveLength(1);
    expect(services[0]).toMatchObject({ status: 'healthy', version: expect.stringMatching(`^${sha1.slice(0, 12)}`) });
    const host = new URL(services[0]!.url).host;
    expect(await serving(host)).toBe(services[0]!.version);
    const alice = { principal: server.services.tokens.principalFor('user:default/alice', null), requestId: 't' };
    expect(await server.services.environments.get(alice, envName)).toMatchObject({ status: 'ready', team: 'payments' });
    expect((await fx.leftovers()).databases).toEqual([`pg-${envName}`]);
    // The same delivery twice made one preview.
    expect(await server.services.store.db.selectFrom('previews').select('env').execute()).toEqual([{ env: envName }]);

    const forged = await deliver(server, { body: payload('opened', sha1, 13), secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    expect(await previewRow(13)).toBeUndefined();

    const sha2 = pushPr('second');
    const synced = await deliver(server, { body: payload('synchronize', sha2), secret: SECRET });
    expect(await finished(synced.id), 'synchronize').toMatchObject({ status: 'done' });
    const v2 = (JSON.parse((await previewRow())!.services) as { version: string }[])[0]!.version;
    expect(v2.startsWith(sha2.slice(0, 12))).toBe(true);
    expect(await serving(host)).toBe(v2);

    const closed = await deliver(server, { body: payload('closed', sha2), secret: SECRET });
    expect(await finished(closed.id), 'closed').toMatchObject({ status: 'done' });
    expect((await previewRow())!.status).toBe('deleted');
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
    expect((await proxyGet(server.services.deployments.service.proxyPort, host)).status).not.toBe(200);
  }, 300_000);

  it('a new preview over the cap (maxOpen 1) tears down the oldest, with a note', async () => {
    const sha12 = pushPr('again');
    const reopened = await deliver(server, { body: payload('reopened', sha12), secret: SECRET });
    expect(await finished(reopened.id), 'reopened').toMatchObject({ status: 'done' });
    expect(await previewRow()).toMatchObject({ status: 'ready', head_sha: sha12 });

    const sha14 = pushPr('other pull request', 14);
    const opened14 = await deliver(server, { body: payload('opened', sha14, 14), secret: SECRET });
    expect(await finished(opened14.id), 'opened 14').toMatchObject({ status: 'done' });
    expect(await previewRow(14)).toMatchObject({ env: env14, status: 'ready' });
    expect(await previewRow()).toMatchObject({ status: 'deleted', note: expect.stringMatching(/over its cap of 1/) });
    expect((await fx.leftovers()).databases).toEqual([`pg-${env14}`]);

    const closed = await deliver(server, { body: payload('closed', sha14, 14), secret: SECRET });
    expect(await finished(closed.id), 'closed 14').toMatchObject({ status: 'done' });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 300_000);

  it('a head commit that does not exist fails the delivery and the preview, with nothing made', async () => {
    const missing = 'f'.repeat(40);
    const r = await deliver(server, { body: payload('opened', missing, 15), secret: SECRET });
    expect(r.status, r.text).toBe(202);
    const d = await finished(r.id);
    expect(d).toMatchObject({ status: 'failed', outcome: expect.stringMatching(/could not be fetched/) });
    expect(await previewRow(15)).toMatchObject({ status: 'failed', note: expect.stringMatching(/ffffffffffff/) });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 120_000);

  it('a newer push stops a rollout still running and deploys the newer commit', async () => {
    const good = pushPr('16 first', 16);
    const opened = await deliver(server, { body: payload('opened', good, 16), secret: SECRET });
    expect(await finished(opened.id), 'opened 16').toMatchObject({ status: 'done' });
    // A commit whose replica fails every health check: its rollout runs until three checks have
    // failed (seconds), unless the newer push, recorded meanwhile, replaces it first.
    const stuck = pushPr(
      '16 stuck',
      16,
      "require('http').createServer((q, s) => { s.statusCode = 500; s.end(); }).listen(process.env.PORT);\n",
    );
    const first = await deliver(server, { body: payload('synchronize', stuck, 16), secret: SECRET });
    const newer = pushPr('16 newer', 16);
    const second = await deliver(server, { body: payload('synchronize', newer, 16), secret: SECRET });
    expect(await finished(first.id), 'the stuck push').toMatchObject({
      status: 'done',
      outcome: expect.stringMatching(/superseded, replaced by synchronize/),
    });
    const secondDone = await finished(second.id);
    expect(secondDone, secondDone.outcome ?? '').toMatchObject({ status: 'done' });
    const row = (await previewRow(16))!;
    expect(row).toMatchObject({ env: env16, status: 'ready', head_sha: newer });
    const svc = (JSON.parse(row.services) as { url: string; version: string }[])[0]!;
    expect(svc.version.startsWith(newer.slice(0, 12))).toBe(true);
    expect(await serving(new URL(svc.url).host)).toBe(svc.version);
    const closed = await deliver(server, { body: payload('closed', newer, 16), secret: SECRET });
    expect(await finished(closed.id), 'closed 16').toMatchObject({ status: 'done' });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 180_000);
});
