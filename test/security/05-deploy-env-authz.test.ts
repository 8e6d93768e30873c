import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/server.ts';
import { waitForDeployment } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import {
  deployYaml,
  serviceArchive,
  startHostileServer,
  TINY_SERVER_JS,
  uploadRelease,
  type HostileServer,
} from '../support/security.ts';

// Issue 10, item 5: deploy:create never checked the environment, so a payments developer
// deployed into an identity developer's environment (getting its DATABASE_URL, REDIS_URL and
// secrets) and into production (its secrets and database), with no grant and no audit of a
// secret read. Now deploying is an action on the Environment as well as the Service.

const ok = await storesAvailable();

const SERVER_JS = TINY_SERVER_JS;
const DEPLOY_YAML = deployYaml();

describe.skipIf(!ok)('deploying is an action on the environment (issue 10 item 5)', () => {
  let fx: EnvFixture;
  let server: HostileServer;
  let t: Record<'alice' | 'dave', string>;
  let daveEnv: string;
  let aliceEnv: string;
  let version: string;
  const repos: string[] = [];
  const values = {
    dave: `sv-dave-${randomBytes(8).toString('hex')}`,
    prod: `sv-prod-${randomBytes(8).toString('hex')}`,
  };
  const leaksNothing = (text: string) => {
    expect(text).not.toContain(values.dave);
    expect(text).not.toContain(values.prod);
    expect(text).not.toMatch(/redis:\/\/[^@\s"]*:[^@\s"]+@/);
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^@\s"]*:[^@\s"]+@/);
  };
  const waitEnded = (id: string) => waitForDeployment(server, server.adminToken, id);
  const audit = async (q: string) =>
    (await api(server, server.adminToken, 'GET', `/api/audit?${q}`)).json.items as any[];

  beforeAll(async () => {
    fx = envFixture();
    server = await startHostileServer({ args: ['--config', fx.configPath] });
    const [alice, dave] = await Promise.all([server.tokenFor('alice'), server.tokenFor('dave')]);
    t = { alice, dave };
    daveEnv = fx.envName('dave');
    aliceEnv = fx.envName('alice');
    expect((await api(server, t.dave, 'POST', '/api/environments', { name: daveEnv, from: 'cache' })).status).toBe(202);
    expect((await api(server, t.alice, 'POST', '/api/environments', { name: aliceEnv, from: 'cache' })).status).toBe(
      202,
    );
    for (const [name, token] of [
      [daveEnv, t.dave],
      [aliceEnv, t.alice],
    ] as const)
      await waitForEnvironment(server, token, name);
    // A secret of payments-api in dave's environment (set by an admin) and one in production (by the owners).
    const put = (token: string, path: string, value: string) =>
      fetch(`${server.url}/api/secrets/${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value }),
      });
    expect((await put(server.adminToken, `${daveEnv}/payments-api/API_KEY`, values.dave)).status).toBeLessThan(300);
    expect((await put(t.alice, 'production/payments-api/STRIPE_KEY', values.prod)).status).toBeLessThan(300);
    const a = serviceArchive({ '.idp/deploy.yaml': DEPLOY_YAML, 'server.js': SERVER_JS });
    repos.push(a.repo);
    const up = await uploadRelease(server, t.alice, 'payments-api', a.commit, a.tar);
    expect(up.status, up.text).toBe(201);
    version = up.json.version;
  }, 120_000);

  afterAll(async () => {
    for (const [name, token] of [
      [daveEnv, t?.dave],
      [aliceEnv, t?.alice],
    ] as const)
      if (server && token) await api(server, token, 'DELETE', `/api/environments/${name}`);
    await server?.stop();
    await fx?.cleanup();
    for (const r of repos) rmSync(r, { recursive: true, force: true });
  });

  it("refuses payments-api into dave's environment, at upload and at deploy, audited, with a hint", async () => {
    const a = serviceArchive({ '.idp/deploy.yaml': DEPLOY_YAML, 'server.js': `${SERVER_JS}// other\n` });
    repos.push(a.repo);
    const upload = await fetch(`${server.url}/api/releases?service=payments-api&commit=${a.commit}&env=${daveEnv}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.alice}`, 'content-type': 'application/x-tar' },
      body: a.tar,
    });
    const uploadBody = (await upload.json()) as any;
    expect([upload.status, uploadBody.error.code, uploadBody.error.details.resource]).toEqual([
      403,
      'POLICY_DENIED',
      `environment:${daveEnv}`,
    ]);

    const res = await api(server, t.alice, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: daveEnv,
      version,
    });
    expect([res.status, res.json?.error?.code], res.text).toEqual([403, 'POLICY_DENIED']);
    expect(res.json.error.details).toMatchObject({
      action: 'deploy:create',
      resource: `environment:${daveEnv}`,
      service: 'payments-api',
    });
    expect(res.json.error.details.hint).toContain('dave@company.com');
    expect(res.json.error.details.hint).toContain('idp env:create');
    leaksNothing(res.text);
    const denied = (await audit('action=deploy:create&decision=deny')).filter(
      (r) => r.target === `environment:${daveEnv}`,
    );
    expect(denied.length).toBe(2);
    expect(denied.every((r) => r.actor.includes('alice'))).toBe(true);
    // Nothing ran there, and nobody read its secrets.
    expect((await api(server, server.adminToken, 'GET', `/api/deployments?env=${daveEnv}`)).json.items).toEqual([]);
    expect((await audit('action=secret:read')).filter((r) => r.target.startsWith(`secret:${daveEnv}/`))).toEqual([]);
    expect(await server.alive()).toBe(true);
  });

  it('refuses production without an access grant, names the grant; with one the deploy goes out and the secret read is audited', async () => {
    const res = await api(server, t.alice, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version,
    });
    expect([res.status, res.json?.error?.code], res.text).toEqual([403, 'POLICY_DENIED']);
    expect(res.json.error.details).toMatchObject({
      resource: 'environment:production',
      forbiddenBy: ['deployments/production-needs-grant'],
      needsGrant: 'production/payments-api/*',
    });
    expect(res.json.error.details.hint).toContain("idp access:request --secret='production/payments-api/*'");
    leaksNothing(res.text);
    const denial = (await audit('action=deploy:create&decision=deny')).find(
      (r) => r.target === 'environment:production',
    );
    expect(denial?.policyIds).toEqual(['deployments/production-needs-grant']);

    // The owning team gets its grant at once by rule; then the deploy is allowed.
    const grant = await api(server, t.alice, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/*',
      reason: 'release 1.2',
      duration: '1h',
    });
    expect([grant.status, grant.json?.status], grant.text).toEqual([201, 'approved']);
    const deployed = await api(server, t.alice, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'production',
      version,
    });
    expect(deployed.status, deployed.text).toBe(202);
    leaksNothing(deployed.text);
    const read = (await audit('action=secret:read')).find(
      (r) => r.target === 'secret:production/payments-api/*' && r.details?.via === 'deploy',
    );
    expect(read).toMatchObject({ decision: 'allow', details: { deployment: deployed.json.id, keys: ['STRIPE_KEY'] } });
    expect(read.actor).toContain('alice');
    leaksNothing(JSON.stringify(await audit('limit=200')));
    expect((await waitEnded(deployed.json.id)).status).toBe('healthy');
  }, 90_000);

  it('her own environment works, and dave cannot abort her rollout', async () => {
    const res = await api(server, t.alice, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: aliceEnv,
      version,
    });
    expect(res.status, res.text).toBe(202);
    const abort = await api(server, t.dave, 'POST', `/api/deployments/${res.json.id}/abort`);
    expect([abort.status, abort.json?.error?.code]).toEqual([403, 'POLICY_DENIED']);
    expect((await waitEnded(res.json.id)).status).toBe('healthy');
    expect(await server.alive()).toBe(true);
  }, 90_000);
});
