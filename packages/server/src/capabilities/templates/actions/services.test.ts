// The actions that act through the control plane, against a real one: publish a new service to a
// shared bare repository, register it in the catalog as alice (not an admin), create an
// environment and deploy the service there healthy through the proxy; each step run again (as a
// retry) does not redo its effect.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@idp/contracts';
import { proxyGet } from '../../../../../../test/support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../../../../../../test/support/environments.ts';
import { api, startTestServer, type TestServer } from '../../../../../../test/support/server.ts';
import { actionHarness, type Harness } from '../../../../../../test/support/template-actions.ts';
import { VERSION_SERVER_JS } from '../../../../../../test/support/tiny-service.ts';
import { userTokens } from '../../../../../../test/support/tokens.ts';
import { createActionRegistry } from './builtin.ts';
import type { ActionRegistry } from './registry.ts';

const stores = await storesAvailable();

describe.runIf(stores)('publish → catalog:register → idp:env:create → idp:deploy against a real control plane', () => {
  const gitRoot = mkdtempSync(join(tmpdir(), 'idp-actions-git-'));
  const shared = join(gitRoot, 'shared');
  mkdirSync(shared);
  let fx: EnvFixture;
  let server: TestServer;
  let alice: Principal;
  let registry: ActionRegistry;
  let h: Harness;
  let envName: string;
  const service = `orders-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    fx = envFixture(`templates:\n  publish:\n    git:\n      allowedRemotes: ["file://${shared}/"]\n`);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    const tokens = await userTokens(server, ['alice']);
    alice = (await api(server, tokens.alice!, 'GET', '/api/whoami')).json as Principal;
    const s = server.services;
    registry = createActionRegistry({
      catalog: s.catalog,
      environments: s.environments,
      deployments: {
        upload: (ctx, req, body) => s.deployments.releases.upload(ctx, req, body),
        create: (ctx, req) => s.deployments.service.create(ctx, req),
        get: (ctx, id) => s.deployments.service.get(ctx, id),
      },
      allowedRemotes: [`file://${shared}/`],
      envWait: { timeoutMs: 60_000, pollMs: 100 },
      deployWait: { timeoutMs: 60_000, pollMs: 100 },
    });
    h = actionHarness();
    envName = fx.envName('tpl');
    const ws = (p: string, text: string) => {
      mkdirSync(join(h.workspace, p, '..'), { recursive: true });
      writeFileSync(join(h.workspace, p), text);
    };
    ws(
      'catalog-info.yaml',
      `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${service}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:payments\n`,
    );
    ws(
      '.idp/deploy.yaml',
      `service: {name: ${service}, team: payments}\nrun: {command: node server.js, replicas: 1}\ndeploy:\n  strategy: canary\n  canary:\n    - {weight: 100}\n  healthcheck: {path: /health, interval: 1s, threshold: 3}\n`,
    );
    ws('server.js', VERSION_SERVER_JS);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (server && envName)
      await server.services.environments.delete({ principal: alice, requestId: 't' }, envName).catch(() => {});
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    rmSync(gitRoot, { recursive: true, force: true });
  });

  it('a new service goes from the workspace to a healthy deploy, each step idempotent', async () => {
    const as = { principal: alice };
    const remoteUrl = `file://${shared}/payments/${service}.git`;
    const published = await h.run(registry.get('publish:git'), { remoteUrl }, { ...as, stepId: 'publish' });
    expect(published.output.repoContentsUrl).toBe(`git+${remoteUrl}#main`);

    // alice is no admin: a location on the server's disk would be refused, the shared repository is not.
    const reg = await h.run(
      registry.get('catalog:register'),
      { repoContentsUrl: published.output.repoContentsUrl, catalogInfoPath: '/catalog-info.yaml' },
      { ...as, stepId: 'register' },
    );
    expect(reg.output).toEqual({ entityRef: `component:default/${service}`, catalogInfoUrl: `git+${remoteUrl}#main` });
    const again = await h.run(
      registry.get('catalog:register'),
      { repoContentsUrl: published.output.repoContentsUrl },
      { ...as, stepId: 'register' },
    );
    expect(again.log[0]).toContain('already registered');
    await expect(
      h.run(registry.get('catalog:register'), { catalogInfoUrl: `git+file://${gitRoot}/other.git#main` }, as),
    ).rejects.toMatchObject({ code: 'POLICY_DENIED' });

    const env = await h.run(
      registry.get('idp:env:create'),
      { name: envName, from: 'cache', ttl: '1d' },
      { ...as, stepId: 'env' },
    );
    expect(env.output.name).toBe(envName);
    expect(String(env.output.namespace)).toContain(envName);
    const envAgain = await h.run(
      registry.get('idp:env:create'),
      { name: envName, from: 'cache' },
      { ...as, stepId: 'env' },
    );
    expect(envAgain.log[0]).toContain('reusing it');
    // A crash after the create, before its checkpoint: the retry recognises the environment as its own.
    h.checkpoints.get('env')!.delete('environment');
    const afterCrash = await h.run(
      registry.get('idp:env:create'),
      { name: envName, from: 'cache' },
      { ...as, stepId: 'env' },
    );
    expect(afterCrash.log[0]).toContain('created by an earlier attempt of this step');
    // Another step (another task) with the same name does not take it over.
    await expect(
      h.run(registry.get('idp:env:create'), { name: envName, from: 'cache' }, { ...as, stepId: 'other-env' }),
    ).rejects.toMatchObject({ code: 'ENV_EXISTS' });

    const deployInput = {
      service,
      env: envName,
      repoUrl: published.output.repoContentsUrl,
      commit: published.output.commitHash,
    };
    const dep = await h.run(registry.get('idp:deploy'), deployInput, { ...as, stepId: 'deploy' });
    expect(dep.output.url).toBe(
      `http://${service}.${String(env.output.namespace)}.localhost:${new URL(String(dep.output.url)).port}`,
    );
    expect(dep.log.some((l) => l.endsWith(': healthy'))).toBe(true);
    const url = new URL(String(dep.output.url));
    const answer = await proxyGet(Number(url.port), url.host);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ version: dep.output.version });
    const depAgain = await h.run(registry.get('idp:deploy'), deployInput, { ...as, stepId: 'deploy' });
    expect(depAgain.output.deploymentId).toBe(dep.output.deploymentId);
    const list = await server.services.deployments.service.list(
      { principal: alice, requestId: 't' },
      { service, env: envName },
    );
    expect(list).toHaveLength(1);
    // The same commit packs to the same bytes: a step that lost its checkpoint uploads the same release.
    const fresh = await h.run(registry.get('idp:deploy'), deployInput, { ...as, stepId: 'deploy-again' });
    expect(fresh.output.version).toBe(dep.output.version);
    // From the workspace itself (no repository): committed in a throw-away repository, packed, deployed.
    writeFileSync(join(h.workspace, 'server.js'), `${VERSION_SERVER_JS}// from the workspace\n`);
    const fromWs = await h.run(registry.get('idp:deploy'), { service, env: envName }, { ...as, stepId: 'deploy-ws' });
    expect(fromWs.output.version).not.toBe(dep.output.version);
    const wsAnswer = await proxyGet(Number(url.port), url.host, '/', { newConnection: true });
    expect(JSON.parse(wsAnswer.body)).toEqual({ version: fromWs.output.version });
  }, 120_000);
});
