import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { api, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';
import { canaryYaml, releaseTinyService } from '../support/tiny-service.ts';

// Team views on a real deployment: alice (payments) clones an environment (namespace
// `views-<id>-alice`) and deploys payments-api, whose replica writes a line when it starts.
// observability.teams gives identity's dave (listed) `namespace=views-*`: he reads those logs with
// `idp logs`, the same lines alice reads; erin, also of identity but not listed, gets what
// anyone outside gets. Both follow the runtime's real file layout and namespace naming.

const ok = await storesAvailable();

const STARTING_SERVER_JS = `console.log('started ' + process.env.IDP_RELEASE_VERSION);
require('http').createServer((q, s) => s.end('{}')).listen(process.env.PORT);
`;

describe.skipIf(!ok)('team views on a deployed replica', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  let version: string;

  beforeAll(async () => {
    fx = envFixture(`observability:
  prometheus:
    enabled: false
  teams:
    - name: identity
      members: [dave]
      views:
        logs:
          paths: ["namespace=views-*"]
`);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave', 'erin']);
    env = fx.envName('views');
    const created = await api(server, t.alice!, 'POST', '/api/environments', { name: env, from: 'cache' });
    expect(created.status, created.text).toBe(202);
    await waitForEnvironment(server, t.alice!, env, ['ready'], { failOn: ['failed'] });
    repo = serviceRepo({ prefix: 'idp-views-repo-' });
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'), {
      serverJs: STARTING_SERVER_JS,
    });
    expect(released.status).toBe(201);
    version = released.json.version;
    const res = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(res.status, res.text).toBe(202);
    expect((await waitForDeployment(server, t.alice!, res.json.id)).status).toBe('healthy');
  }, 120_000);

  afterAll(async () => {
    repo?.remove();
    if (server && env) await api(server, t.alice!, 'DELETE', `/api/environments/${env}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
  });

  const logs = (token: string) =>
    runCli(['logs', 'payments-api', '--env', env], { IDP_URL: server.url, IDP_TOKEN: token });

  it('the listed member reads the namespace his view selects, as the owner does', async () => {
    await expect.poll(async () => (await logs(t.alice!)).stdout).toContain(`started ${version}`);
    const owner = await logs(t.alice!);
    const viewer = await logs(t.dave!);
    expect(viewer.code, viewer.stderr).toBe(0);
    expect(viewer.stdout).toBe(owner.stdout);
    const res = await api(server, t.dave!, 'GET', `/api/observability/logs?service=payments-api&env=${env}`);
    expect(res.json.data.result[0].stream).toMatchObject({ team: 'payments', namespace: `${env}-alice` });
  });

  it('a team member left out of the list reads nothing of it', async () => {
    const outside = await logs(t.erin!);
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.stdout).toBe('');
    expect(outside.stderr).toContain('No log lines of payments-api');
  });
});
