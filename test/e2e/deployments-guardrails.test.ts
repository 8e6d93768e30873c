import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { proxyGet, serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { userTokens } from '../support/tokens.ts';
import { canaryYaml as yaml, releaseTinyService } from '../support/tiny-service.ts';
import { holdsFor } from '../support/wait.ts';

// Manual promotion, abort and the deploy freeze, with a tiny real service (no build step) so the
// rollouts are quick: its processes, health checks and the proxy are the real ones.

const ok = await storesAvailable();
const now = Date.now();
const FROZEN = `frozen-${randomBytes(3).toString('hex')}`;
const FREEZE = `deployments:
  freezes:
    - {from: "${new Date(now - 3600_000).toISOString()}", to: "${new Date(now + 3600_000).toISOString()}", environments: [${FROZEN}], reason: release weekend}
`;

describe.skipIf(!ok)('deploy guardrails, manual promote and abort', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;

  const release = (service: string, deployYaml: string) =>
    releaseTinyService(server, t.alice!, repo, deployYaml, { service });
  const waitFor = (id: string, pred: (d: any) => boolean) => waitForDeployment(server, t.alice!, id, pred);

  beforeAll(async () => {
    fx = envFixture(FREEZE);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice']);
    env = fx.envName('guard');
    for (const name of [env, FROZEN])
      expect((await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'cache' })).status).toBe(202);
    for (const name of [env, FROZEN]) await waitForEnvironment(server, t.alice!, name);
    repo = serviceRepo({ prefix: 'idp-guard-repo-' });
  }, 60_000);

  afterAll(async () => {
    for (const name of [env, FROZEN]) if (server) await api(server, t.alice!, 'DELETE', `/api/environments/${name}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it('a step without a pause waits for idp deploy:promote; abort sends everything back to stable', async () => {
    const v1 = await release('payments-api', yaml('    - weight: 100'));
    const first = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: v1.json.version,
    });
    await waitFor(first.json.id, (d) => d.status === 'healthy');
    // The same version again (a re-run CI job): a no-op answering the deployment serving it, no new one.
    const rerun = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: v1.json.version,
    });
    expect([rerun.status < 300, rerun.json.id, rerun.json.status]).toEqual([true, first.json.id, 'healthy']);
    const listed = await api(server, t.alice!, 'GET', `/api/deployments?env=${env}`);
    expect(JSON.stringify(listed.json).match(/"id":"dep[^"]*"/g)).toEqual([`"id":"${first.json.id}"`]);

    const v2 = await release('payments-api', yaml('    - weight: 30\n    - weight: 100'));
    const second = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: v2.json.version,
    });
    const waiting = await waitFor(second.json.id, (d) => d.step === 0 && d.weight === 30);
    // Without a pause the step stays where it is: time passing is what is tested here.
    await holdsFor(
      1500,
      async () =>
        expect((await api(server, t.alice!, 'GET', `/api/deployments/${second.json.id}`)).json).toMatchObject({
          step: 0,
          weight: 30,
        }),
      100,
    );
    expect(waiting.status).not.toBe('healthy');
    // `idp deploy:promote` shows the state after the promote: the next step (100%) or the end.
    const promoted = await runCli(['deploy:promote', second.json.id, '-o', 'json'], {
      IDP_URL: server.url,
      IDP_TOKEN: t.alice!,
    });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(JSON.parse(promoted.stdout).weight).toBe(100);
    const done = await waitFor(second.json.id, (d) => !['pending', 'progressing', 'paused'].includes(d.status));
    expect(done.status).toBe('healthy');
    expect(done.steps[0].outcome).toBe('promoted');
    const again = await api(server, t.alice!, 'POST', `/api/deployments/${second.json.id}/promote`);
    expect([again.status, again.json.error.code]).toEqual([409, 'DEPLOY_NOT_ACTIVE']);

    const v3 = await release('payments-api', yaml('    - weight: 50\n      pause: 10m\n    - weight: 100'));
    const third = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: v3.json.version,
    });
    await waitFor(third.json.id, (d) => d.weight === 50);
    const busy = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: v1.json.version,
    });
    expect([busy.status, busy.json.error.code]).toEqual([409, 'DEPLOY_IN_PROGRESS']);
    // `idp deploy:abort` shows the state after the abort: ended, aborted.
    const aborting = await runCli(['deploy:abort', third.json.id, '-o', 'json'], {
      IDP_URL: server.url,
      IDP_TOKEN: t.alice!,
    });
    expect(aborting.code, aborting.stderr).toBe(0);
    expect(JSON.parse(aborting.stdout).status).toBe('aborted');
    const port = server.services.deployments.service.proxyPort;
    const host = `payments-api.${env}-alice.localhost`;
    const res = await proxyGet(port, host);
    expect(JSON.parse(res.body).version).toBe(v2.json.version);
  }, 120_000);

  it('refuses a deploy during a freeze window, and a service the catalog does not know', async () => {
    const v = await release('payments-api', yaml('    - weight: 100'));
    const frozen = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: FROZEN,
      version: v.json.version,
    });
    expect([frozen.status, frozen.json.error.details.forbiddenBy]).toEqual([403, ['deployments/freeze-windows']]);
    const ghost = await release(
      'ghost-api',
      yaml('    - weight: 100').replace('name: payments-api', 'name: ghost-api'),
    );
    expect([ghost.status, ghost.json.error.code]).toEqual([400, 'DEPLOY_SERVICE_UNKNOWN']);
  }, 60_000);
});
