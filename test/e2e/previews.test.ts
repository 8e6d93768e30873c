import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewsSchema } from '../../packages/server/src/config/previews.ts';
import { catalogMembership } from '../../packages/server/src/capabilities/previews/membership.ts';
import { PlatformRunner } from '../../packages/server/src/capabilities/previews/platform-runner.ts';
import { PreviewLifecycle } from '../../packages/server/src/capabilities/previews/service.ts';
import { PreviewStore } from '../../packages/server/src/capabilities/previews/store.ts';
import { proxyGet, serviceRepo, versionOf, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { VERSION_SERVER_JS } from '../support/tiny-service.ts';

// The preview life cycle on a real control plane (environments cloned from staging with their
// PostgreSQL database and Redis keys, releases built and run as processes, the edge proxy), driven
// by GitHub's own example payloads pointed at a local repository with a refs/pull/12/head ref,
// acting for the payments team as alice.

const ok = await storesAvailable();
const require = createRequire(import.meta.url);
type Example = Record<string, unknown> & { pull_request: Record<string, unknown> & { head: { sha: string } } };
const examples = (
  require('@octokit/webhooks-examples/api.github.com/index.json') as {
    name: string;
    examples: (Example & { action: string })[];
  }[]
).find((e) => e.name === 'pull_request')!.examples;
const payload = (action: string, sha: string, repoName: string): Example => {
  const p = structuredClone(examples.find((e) => e.action === action)!);
  (p.repository as { full_name: string }).full_name = repoName;
  (p.pull_request.head as unknown as { repo: { full_name: string } }).repo.full_name = repoName;
  p.number = 12;
  p.pull_request.number = 12;
  p.pull_request.head.sha = sha;
  return p;
};

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

describe.skipIf(!ok)('preview life cycle on the platform', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let repo: ServiceRepo;
  let lifecycle: PreviewLifecycle;
  let store: PreviewStore;
  let n = 0;
  /** Codertocat/prv-<run id>: its preview pr-12-prv-<run id> is one the fixture checks for leftovers. */
  let repoName = '';
  let envName = '';
  const handle = (action: string, sha: string) =>
    lifecycle.handle({
      id: `delivery-${++n}`,
      event: 'pull_request',
      action,
      repo: repoName,
      number: 12,
      payload: payload(action, sha, repoName),
    });
  const pushPr = (text: string) => {
    repo.write('server.js', `${VERSION_SERVER_JS}// ${text}\n`);
    const sha = repo.commit(text);
    execFileSync('git', ['update-ref', 'refs/pull/12/head', sha], { cwd: repo.dir });
    return sha;
  };
  const serving = async (host: string) =>
    versionOf(await proxyGet(server.services.deployments.service.proxyPort, host));

  beforeAll(async () => {
    fx = envFixture();
    envName = fx.envName('pr-12-prv');
    repoName = `Codertocat/${envName.slice('pr-12-'.length)}`;
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': VERSION_SERVER_JS } });
    repo.commit('main');
    const cfg = PreviewsSchema.parse({
      repositories: {
        [repoName]: { cloneUrl: `file://${repo.dir}`, team: 'payments', base: 'staging' },
      },
    });
    const principal = server.services.tokens.principalFor('user:default/alice', null);
    store = new PreviewStore(server.services.store.db);
    lifecycle = new PreviewLifecycle({
      store,
      config: () => cfg,
      membership: catalogMembership(server.services.catalog.queries, server.services.directory),
      runner: new PlatformRunner({
        environments: server.services.environments,
        deployments: {
          upload: (ctx, req, body) => server.services.deployments.releases.upload(ctx, req, body),
          create: (ctx, req) => server.services.deployments.service.create(ctx, req),
          get: (ctx, id) => server.services.deployments.service.get(ctx, id),
          list: (ctx, q) => server.services.deployments.service.list(ctx, q),
          command: (ctx, id, what) => server.services.deployments.service.command(ctx, id, what),
        },
        actingFor: () => ({ principal, requestId: 'preview-test' }),
        fetch: { timeoutMs: 30_000, maxArchiveBytes: 16 * 1024 * 1024 },
        wait: { timeoutMs: 90_000, pollMs: 100 },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it('opened → the PR commit served through the proxy with its own database; synchronize → the new commit; closed → nothing left', async () => {
    const sha1 = pushPr('first');
    const opened = await handle('opened', sha1);
    expect(opened.status, opened.outcome).toBe('done');
    const row = (await store.get(repoName, 12))!;
    expect(row).toMatchObject({ env: envName, status: 'ready', head_sha: sha1 });
    const services = JSON.parse(row.services) as { url: string; version: string; status: string }[];
    expect(services).toHaveLength(1);
    expect(services[0]!.status).toBe('healthy');
    expect(services[0]!.version.startsWith(sha1.slice(0, 12))).toBe(true);
    const host = new URL(services[0]!.url).host;
    expect(await serving(host)).toBe(services[0]!.version);
    const alice = { principal: server.services.tokens.principalFor('user:default/alice', null), requestId: 't' };
    const env = await server.services.environments.get(alice, envName);
    expect(env).toMatchObject({ status: 'ready', team: 'payments' });
    expect((await fx.leftovers()).databases).toEqual([`pg-${envName}`]);

    expect((await handle('opened', sha1)).status).toBe('ignored');

    const sha2 = pushPr('second');
    const synced = await handle('synchronize', sha2);
    expect(synced.status, synced.outcome).toBe('done');
    const row2 = (await store.get(repoName, 12))!;
    const v2 = (JSON.parse(row2.services) as { version: string }[])[0]!.version;
    expect(v2.startsWith(sha2.slice(0, 12))).toBe(true);
    expect(await serving(host)).toBe(v2);

    const closed = await handle('closed', sha2);
    expect(closed.status, closed.outcome).toBe('done');
    expect((await store.get(repoName, 12))!.status).toBe('deleted');
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 240_000);
});
