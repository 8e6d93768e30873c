import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/server.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import {
  deployYaml,
  serviceArchive,
  startHostileServer,
  TINY_SERVER_JS,
  uploadRelease,
  type HostileServer,
} from '../support/security.ts';

// Issue 10, item 14: GET /api/deployments and /api/deployments/:id answered anyone with a token.
// Now they need deploy:read (the service's owning team, the environment's owner, platform
// admins): a single deployment is POLICY_DENIED (audited), lists leave out what the caller may
// not read.

const ok = await storesAvailable();

const DEPLOY_YAML = deployYaml();

describe.skipIf(!ok)('deployments are read by those who may (issue 10 item 14)', () => {
  let fx: EnvFixture;
  let server: HostileServer;
  let t: Record<'alice' | 'bob' | 'dave', string>;
  let env: string;
  let id: string;
  let repo: string | undefined;

  beforeAll(async () => {
    fx = envFixture();
    server = await startHostileServer({ args: ['--config', fx.configPath] });
    const [alice, bob, dave] = await Promise.all(['alice', 'bob', 'dave'].map((u) => server.tokenFor(u)));
    t = { alice: alice!, bob: bob!, dave: dave! };
    env = fx.envName('reads');
    expect((await api(server, t.alice, 'POST', '/api/environments', { name: env, from: 'cache' })).status).toBe(202);
    await waitForEnvironment(server, t.alice, env);
    const a = serviceArchive({ '.idp/deploy.yaml': DEPLOY_YAML, 'server.js': TINY_SERVER_JS });
    repo = a.repo;
    const up = await uploadRelease(server, t.alice, 'payments-api', a.commit, a.tar);
    expect(up.status, up.text).toBe(201);
    const dep = await api(server, t.alice, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: up.json.version,
    });
    expect(dep.status, dep.text).toBe(202);
    id = dep.json.id;
  }, 120_000);

  afterAll(async () => {
    if (server && t) await api(server, t.alice, 'DELETE', `/api/environments/${env}`);
    await server?.stop();
    await fx?.cleanup();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it("dave (identity) can neither get nor list alice's deployment", async () => {
    const one = await api(server, t.dave, 'GET', `/api/deployments/${id}`);
    expect([one.status, one.json?.error?.code], one.text).toEqual([403, 'POLICY_DENIED']);
    expect(one.json.error.details).toMatchObject({ action: 'deploy:read', resource: `environment:${env}` });
    expect(one.text).not.toContain('"url"');
    for (const q of ['', `?service=payments-api`, `?env=${env}`]) {
      const list = await api(server, t.dave, 'GET', `/api/deployments${q}`);
      expect(list.status).toBe(200);
      expect(list.json.items.map((d: any) => d.id)).not.toContain(id);
    }
    const audit = (await api(server, server.adminToken, 'GET', '/api/audit?action=deploy:read&decision=deny')).json
      .items;
    expect(audit.some((r: any) => r.actor.includes('dave') && r.target === `environment:${env}`)).toBe(true);
    expect(await server.alive()).toBe(true);
  });

  it("the admin, the environment owner and the service's team read it", async () => {
    for (const token of [server.adminToken, t.alice, t.bob]) {
      const one = await api(server, token, 'GET', `/api/deployments/${id}`);
      expect(one.status, one.text).toBe(200);
      expect(one.json.id).toBe(id);
      const list = await api(server, token, 'GET', '/api/deployments?service=payments-api');
      expect(list.json.items.map((d: any) => d.id)).toContain(id);
    }
  });
});
