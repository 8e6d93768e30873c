import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { serviceRepo, type ServiceRepo } from '../support/deploy.ts';
import { releaseTinyService } from '../support/tiny-service.ts';
import { userTokens } from '../support/tokens.ts';

// A production deploy refused by policies/deployments.cedar says what to change, not only which
// policy refused it: production-needs-auto-canary wants `strategy: canary` with
// `rollback.auto: true` in deploy.yaml; production-needs-grant wants an access grant.

const ok = await storesAvailable();

const SERVER_JS = `require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n`;
const yaml = (deploy: string) => `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
${deploy}
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;
const ROLLING = yaml('  strategy: rolling');
const CANARY_AUTO = `${yaml('  strategy: canary\n  canary: [{weight: 100}]')}  rollback: {auto: true}\n`;
const CANARY_NO_AUTO = `${yaml('  strategy: canary\n  canary: [{weight: 100}]')}  rollback: {auto: false}\n`;

describe.skipIf(!ok)('production deploy denials say how to pass them', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;

  const release = async (deployYaml: string) => {
    const res = await releaseTinyService(server, t.alice!, repo, deployYaml, { serverJs: SERVER_JS });
    expect(res.status).toBe(201);
    return res.json.version as string;
  };

  beforeAll(async () => {
    fx = envFixture();
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice']);
    repo = serviceRepo({ prefix: 'idp-prod-hint-' });
  }, 60_000);

  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it('without a grant: a canary with rollback.auto is told to get one; a rolling release is told to become a canary first', async () => {
    const canary = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version: await release(CANARY_AUTO),
    });
    expect([canary.status, canary.json.error.details.forbiddenBy]).toEqual([
      403,
      ['deployments/production-needs-grant'],
    ]);
    expect(canary.json.error.details.hint).toContain("idp access:request --secret='production/payments-api/*'");

    // Both rules apply to a rolling release; the service's is decided first, and its hint is the deploy.yaml fix.
    const rolling = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version: await release(ROLLING),
    });
    expect([rolling.status, rolling.json.error.details.forbiddenBy]).toEqual([
      403,
      ['deployments/production-needs-auto-canary'],
    ]);
    expect(rolling.json.error.details.hint).toContain('`deploy.strategy: canary`');
  });

  it('with a grant, a rolling release or a canary without rollback.auto: the hint says what to set in deploy.yaml', async () => {
    const grant = await api(server, t.alice!, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/*',
      reason: 'release the fix',
      duration: '1h',
    });
    expect(grant.status, grant.text).toBeLessThan(300);
    expect(grant.json.status).toBe('approved');

    const rolling = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version: await release(ROLLING),
    });
    expect([rolling.status, rolling.json.error.code, rolling.json.error.details.forbiddenBy]).toEqual([
      403,
      'POLICY_DENIED',
      ['deployments/production-needs-auto-canary'],
    ]);
    const hint = rolling.json.error.details.hint as string;
    expect(hint).toContain('`deploy.strategy: canary`');
    expect(hint).toContain('`deploy.rollback.auto: true`');
    expect(hint).toContain('(this release has strategy: rolling)');
    expect(hint).not.toContain('policy:check');

    const noAuto = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version: await release(CANARY_NO_AUTO),
    });
    expect(noAuto.status).toBe(403);
    expect(noAuto.json.error.details.hint).toContain('(this release has rollback.auto: false)');

    // Through `idp deploy`, as a user meets it: the fix on the "Try this:" line, exit 3.
    repo.write('.idp/deploy.yaml', ROLLING);
    repo.commit();
    const cli = await runCli(['deploy', '--env', 'production', '--path', repo.dir], {
      IDP_URL: server.url,
      IDP_TOKEN: t.alice!,
    });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain('Error [POLICY_DENIED]: deploy:create on service:payments-api denied');
    expect(cli.stderr).toMatch(
      /Try this: Production only takes canaries that roll back by themselves: in \.idp\/deploy\.yaml set `deploy\.strategy: canary`/,
    );
  }, 60_000);
});
