import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runCli, startTestServer, type TestServer } from '../support/server.ts';
import {
  paymentsApiRepo,
  proxyGet as get,
  proxyTraffic,
  releaseCommit,
  uploadRelease,
  waitForDeployment,
  type ServiceRepo,
} from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { userTokens } from '../support/tokens.ts';

// Deployments end to end on this machine: the real payments-api (examples/acme/services) in a
// git repository, released with `git archive`, built with npm ci, run as processes with the
// environment's real PostgreSQL and Redis, and reached through the edge proxy with real traffic.
// v1 goes straight to 100%; a healthy v2 walks the canary and is promoted; a v3 that fails 5% of
// its requests is rolled back by itself, and no request fails after the rollback.

const ok = await storesAvailable();

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
build: {command: npm ci --omit=dev --prefer-offline --no-audit --no-fund}
run: {command: node server.js, replicas: 2}
deploy:
  strategy: canary
  canary:
    - weight: 50
      pause: 3s
    - weight: 100
  healthcheck: {path: /health, interval: 1s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%", min_requests: 20}
`;

describe.skipIf(!ok)('deployments through the edge proxy with real traffic', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let envName: string;
  let host: string;
  const versions: string[] = [];

  const commit = (message: string) => repo.commit(message);
  const release = (sha: string) => releaseCommit(server, t.alice!, 'payments-api', repo, sha);
  /** Runs `work` while 4 clients send requests through the proxy; counts failures and which release answered. */
  const underTraffic = async <T>(load: boolean, work: () => Promise<T>) => {
    const port = server.services.deployments.service.proxyPort;
    const traffic = load ? proxyTraffic(port, host, { clients: 4, pauseMs: 5 }) : undefined;
    try {
      return {
        result: await work(),
        seen: traffic?.seen ?? new Map<string, number>(),
        get failed() {
          return traffic?.failures.length ?? 0;
        },
      };
    } finally {
      await traffic?.stop();
    }
  };
  const deploy = async (version: string, load: boolean) => {
    const res = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: envName,
      version,
    });
    expect(res.status, res.text).toBe(202);
    const id = res.json.id as string;
    const run = await underTraffic(load, () => waitForDeployment(server, t.alice!, id, undefined, { timeout: 90_000 }));
    return { dep: run.result, seen: run.seen, failed: run.failed };
  };

  /** `idp deploy --env E --path repo -o json` as a user runs it, with traffic flowing meanwhile. */
  const deployWithCli = async () => {
    const run = await underTraffic(true, () =>
      runCli(['deploy', '--env', envName, '--path', repo.dir, '-o', 'json'], {
        IDP_URL: server.url,
        IDP_TOKEN: t.alice!,
      }),
    );
    return { dep: JSON.parse(run.result.stdout), seen: run.seen, failed: run.failed, cli: run.result };
  };

  beforeAll(async () => {
    fx = envFixture();
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave']);
    envName = fx.envName('deploys');
    expect((await api(server, t.alice!, 'POST', '/api/environments', { name: envName, from: 'staging' })).status).toBe(
      202,
    );
    await waitForEnvironment(server, t.alice!, envName, ['ready'], { failOn: ['failed'] });
    host = `payments-api.${envName}-alice.localhost`;
    repo = paymentsApiRepo(DEPLOY_YAML);
  }, 120_000);

  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it("v1: the first deploy goes straight to 100% and serves through the proxy with the environment's stores", async () => {
    const v1 = await release(commit('v1'));
    versions.push(v1);
    const { dep } = await deploy(v1, false);
    expect(dep.status, dep.reason).toBe('healthy');
    const r = await get(server.services.deployments.service.proxyPort, host);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).version).toBe(v1);
    // It really uses the clone's database (the seeded payments are there).
    const payments = await get(server.services.deployments.service.proxyPort, host, '/payments');
    expect(payments.status).toBe(200);
    expect(await get(server.services.deployments.service.proxyPort, 'nothing.here.localhost')).toMatchObject({
      status: 404,
    });
  }, 120_000);

  it('v2 through `idp deploy` (the real CLI): a healthy canary walks its steps under traffic and is promoted', async () => {
    repo.write('README.md', 'v2\n');
    commit('v2');
    const { dep, seen, failed, cli } = await deployWithCli();
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/50%/);
    expect(cli.stderr).toMatch(/canary: \d+ requests?, \d+ errors?/);
    const v2 = dep.version as string;
    versions.push(v2);
    expect(dep.status, dep.reason).toBe('healthy');
    expect(failed).toBe(0);
    // During the 50% step both versions answered.
    expect([...seen.keys()].some((k) => k.includes(versions[0]!))).toBe(true);
    expect([...seen.keys()].some((k) => k.includes(v2))).toBe(true);
    expect(dep.steps[0]).toMatchObject({ weight: 50 });
    expect(dep.steps[0].requests).toBeGreaterThanOrEqual(20);
    const r = await get(server.services.deployments.service.proxyPort, host);
    expect(JSON.parse(r.body).version).toBe(v2);
    // The same commit again (a re-run CI job) succeeds as a no-op and answers the current deployment.
    const rerun = await runCli(['deploy', '--env', envName, '--path', repo.dir, '-o', 'json'], {
      IDP_URL: server.url,
      IDP_TOKEN: t.alice!,
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/already runs in .*nothing to deploy/);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ id: dep.id, version: v2, status: 'healthy' });
  }, 120_000);

  it('v3 failing 5% of requests is rolled back by itself; stable keeps serving; afterwards no request fails', async () => {
    repo.write('fault.json', '{"errorRate": 0.05}\n');
    const v3 = await release(commit('v3 with errors'));
    const { dep } = await deploy(v3, true);
    expect(dep.status).toBe('rolled_back');
    expect(dep.reason).toMatch(/error rate/i);
    expect(dep.figures).toMatchObject({ check: 'error_rate' });
    expect(dep.figures.requests).toBeGreaterThanOrEqual(20);
    const port = server.services.deployments.service.proxyPort;
    const after = await Promise.all(Array.from({ length: 100 }, () => get(port, host)));
    expect(after.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(after.map((r) => JSON.parse(r.body).version))).toEqual(new Set([versions[1]]));
    const history = await api(server, t.alice!, 'GET', `/api/deployments?service=payments-api&env=${envName}`);
    expect(history.json.items.map((d: any) => d.status)).toEqual(['rolled_back', 'healthy', 'healthy']);
  }, 120_000);

  it('idp rollback returns to the previous healthy version at once (no canary steps), and serves it', async () => {
    const res = await api(server, t.alice!, 'POST', '/api/deployments/rollback', {
      service: 'payments-api',
      env: envName,
    });
    expect(res.status, res.text).toBe(202);
    expect(res.json.version).toBe(versions[0]);
    let dep = await waitForDeployment(server, t.alice!, res.json.id, undefined, { timeout: 90_000 });
    expect(dep.status, dep.reason).toBe('healthy');
    const r = await get(server.services.deployments.service.proxyPort, host);
    expect(JSON.parse(r.body).version).toBe(versions[0]);
    // And forward again to v2: a release that ran before starts again.
    const again = await api(server, t.alice!, 'POST', '/api/deployments/rollback', {
      service: 'payments-api',
      env: envName,
      to: versions[1],
    });
    expect(again.status, again.text).toBe(202);
    dep = await waitForDeployment(server, t.alice!, again.json.id, undefined, { timeout: 90_000 });
    expect(dep.status, dep.reason).toBe('healthy');
  }, 120_000);

  it('rolling and recreate releases roll out behind health checks and end healthy', async () => {
    for (const strategy of ['rolling', 'recreate']) {
      repo.write(
        '.idp/deploy.yaml',
        DEPLOY_YAML.replace(
          /  strategy: canary\n  canary:\n    - weight: 50\n      pause: 3s\n    - weight: 100\n/,
          `  strategy: ${strategy}\n`,
        ),
      );
      repo.write('fault.json', '{"errorRate": 0}\n');
      repo.write('README.md', `${strategy}\n`);
      const v = await release(commit(strategy));
      const { dep, failed } = await deploy(v, strategy === 'rolling');
      expect([strategy, dep.status, dep.reason]).toEqual([strategy, 'healthy', expect.any(String)]);
      if (strategy === 'rolling') expect(failed).toBe(0);
      expect(JSON.parse((await get(server.services.deployments.service.proxyPort, host)).body).version).toBe(v);
    }
  }, 180_000);

  it('refuses bad input on the server too: invalid deploy.yaml, team mismatch, unknown environment, production without an auto-rollback canary', async () => {
    const upload = async (yaml: string) => {
      repo.write('.idp/deploy.yaml', yaml);
      repo.write('README.md', `${Math.random()}\n`);
      const sha = commit('variant');
      return uploadRelease(server, t.alice!, 'payments-api', sha, repo.archive(sha));
    };
    const invalid = await upload(DEPLOY_YAML.replace('healthcheck:', 'helthcheck:'));
    expect([invalid.status, invalid.json.error.code]).toEqual([400, 'DEPLOY_SPEC_INVALID']);
    expect(invalid.json.error.details.problems.some((p: any) => p.didYouMean === 'healthcheck' && p.line > 0)).toBe(
      true,
    );
    const team = await upload(DEPLOY_YAML.replace('team: payments', 'team: identity'));
    expect([team.status, team.json.error.code]).toEqual([400, 'DEPLOY_TEAM_MISMATCH']);
    const noEnv = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'nowhere',
      version: versions[1],
    });
    expect([noEnv.status, noEnv.json.error.code]).toEqual([404, 'ENV_NOT_FOUND']);
    const rolling = await upload(
      DEPLOY_YAML.replace(
        /  strategy: canary\n  canary:\n    - weight: 50\n      pause: 3s\n    - weight: 100\n/,
        '  strategy: rolling\n',
      ),
    );
    expect(rolling.status).toBe(201);
    const prod = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version: rolling.json.version,
    });
    expect([prod.status, prod.json.error.details.forbiddenBy]).toEqual([
      403,
      ['deployments/production-needs-auto-canary'],
    ]);
  }, 120_000);

  it('refuses bad input: unknown release, another team, a failing build', async () => {
    const unknown = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: envName,
      version: 'deadbeef0000-000000000000',
    });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'RELEASE_NOT_FOUND']);
    const dave = await api(server, t.dave!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: envName,
      version: versions[1],
    });
    expect(dave.status).toBe(403);
    repo.write(
      '.idp/deploy.yaml',
      DEPLOY_YAML.replace('npm ci --omit=dev --prefer-offline --no-audit --no-fund', 'echo building; exit 3'),
    );
    const sha = commit('broken build');
    const res = await uploadRelease(server, t.alice!, 'payments-api', sha, repo.archive(sha));
    const body = res.json;
    expect([res.status, body.error.code]).toEqual([422, 'DEPLOY_BUILD_FAILED']);
    expect(body.error.details.output).toContain('building');
    // Stable untouched.
    expect((await get(server.services.deployments.service.proxyPort, host)).status).toBe(200);
  }, 60_000);
});
