import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runCli, type TestServer } from '../support/server.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { proxyGet, serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { releaseTinyService, canaryYaml as yaml } from '../support/tiny-service.ts';

// `idp rollback` recorded and shown as a rollback (not as the canary it returned to), and
// `idp undeploy` stopping a service in an environment: policy-checked, audited, its replicas and
// route gone (the proxy answers PROXY_NO_ROUTE), history kept, idempotent. A tiny real service
// (no build), real processes in the sandbox and the real edge proxy.

const ok = await storesAvailable();

describe.skipIf(!ok)('rollbacks labelled as such, and idp undeploy', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  let host: string;
  const versions: string[] = [];
  const cli = (args: string[], token = t.alice!) => runCli(args, { IDP_URL: server.url, IDP_TOKEN: token });
  const port = () => server.services.deployments.service.proxyPort;

  const release = async (deployYaml: string) => {
    const res = await releaseTinyService(server, t.alice!, repo, deployYaml);
    expect(res.status).toBe(201);
    return res.json.version as string;
  };
  const deployed = async (version: string, until: (d: any) => boolean = (d) => d.status === 'healthy') => {
    const res = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(res.status, res.text).toBe(202);
    return waitForDeployment(server, t.alice!, res.json.id, until);
  };

  const setup = envServer({ users: ['alice', 'dave'], label: 'undeploy' });

  beforeAll(() => {
    ({ server, tokens: t, env } = setup);
    host = `payments-api.${env}-alice.localhost`;
    repo = serviceRepo({ prefix: 'idp-undeploy-repo-' });
  });

  afterAll(() => {
    repo?.remove();
  });

  it('idp rollback shows in history, status and JSON as `rollback to <version>`, not as a promoted canary', async () => {
    versions.push(await release(yaml('    - weight: 100')));
    expect((await deployed(versions[0]!)).kind).toBe('deploy');
    versions.push(await release(yaml('    - weight: 50\n      pause: 1s\n    - weight: 100')));
    await deployed(versions[1]!);

    const rolled = await cli(['rollback', '--service', 'payments-api', '--env', env]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stderr).toMatch(
      new RegExp(`Rollback dep_\\S+: payments-api in ${env} back to ${versions[0]} \\(replacing ${versions[1]}\\)`),
    );
    expect(rolled.stderr).toContain(`✓ payments-api in ${env} is rolled back to ${versions[0]}`);
    expect(rolled.stdout).toMatch(new RegExp(`strategy: +rollback to ${versions[0]} \\(steps skipped\\)`));
    expect(rolled.stdout).not.toContain('promoted');

    const [table, json] = await Promise.all([
      cli(['deploy:history', '--service', 'payments-api', '--env', env]),
      cli(['deploy:history', '--service', 'payments-api', '--env', env, '-o', 'json']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[1]).toContain(`rollback to ${versions[0]}`);
    expect(rows[1]).not.toContain('promoted');
    expect(rows[2]).toMatch(/\bcanary\b/);
    const items = JSON.parse(json.stdout).items;
    expect(items.map((d: any) => d.kind)).toEqual(['rollback', 'deploy', 'deploy']);
    expect(items[0]).toMatchObject({ version: versions[0], previousVersion: versions[1], status: 'healthy' });
    expect(items[0].reason).toContain('rolled back: this earlier release takes all traffic again');
    expect(JSON.parse((await proxyGet(port(), host)).body).version).toBe(versions[0]);
  }, 120_000);

  it('idp undeploy stops the replicas and removes the route, keeps the history, is audited and idempotent', async () => {
    // Not the owning team: refused, and nothing stops.
    const dave = await cli(['undeploy', '--service', 'payments-api', '--env', env], t.dave!);
    expect(dave.code).toBe(3);
    expect(dave.stderr).toContain('Error [POLICY_DENIED]: deploy:undeploy');
    expect((await proxyGet(port(), host)).status).toBe(200);

    const stopped = await cli(['undeploy', '--service', 'payments-api', '--env', env, '-o', 'json']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({
      service: 'payments-api',
      env,
      stopped: true,
      version: versions[0],
      replicas: 1,
    });
    expect(stopped.stderr).toContain(
      `Stopped payments-api in ${env}: 1 replica of ${versions[0]}; its route is removed.`,
    );
    const gone = await proxyGet(port(), host);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body).error.code).toBe('PROXY_NO_ROUTE');

    // History stays; the audit log has the undeploy with the version it stopped.
    const history = await api(server, t.alice!, 'GET', `/api/deployments?service=payments-api&env=${env}`);
    expect(history.json.items).toHaveLength(3);
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?action=deploy:undeploy');
    expect(audit.json.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'deploy:undeploy',
          decision: 'allow',
          details: expect.objectContaining({ env, version: versions[0] }),
        }),
        expect.objectContaining({ action: 'deploy:undeploy', decision: 'deny' }),
      ]),
    );

    // Again: nothing to stop, exit 0.
    const again = await cli(['undeploy', '--service', 'payments-api', '--env', env]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`payments-api is not deployed in ${env}; nothing to stop.`);
    expect(again.stdout).toMatch(/stopped: +no \(not deployed\)/);

    // Deploying again starts it afresh (a first deploy: straight to 100%).
    const back = await deployed(versions[1]!);
    expect(back.previousVersion).toBeNull();
    expect(JSON.parse((await proxyGet(port(), host)).body).version).toBe(versions[1]);
  }, 120_000);

  it('refuses while a rollout of the service runs', async () => {
    const version = await release(yaml('    - weight: 30\n    - weight: 100'));
    const paused = await deployed(version, (d) => d.status === 'paused');
    const busy = await cli(['undeploy', '--service', 'payments-api', '--env', env]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`Error [DEPLOY_IN_PROGRESS]: deployment ${paused.id} of payments-api in ${env}`);
    expect(busy.stderr).toContain(`idp deploy:abort ${paused.id}`);
    expect((await cli(['deploy:abort', paused.id])).code).toBe(0);
  }, 60_000);
});
