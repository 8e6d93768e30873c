import { writeFileSync, symlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serviceRepo, uploadRelease, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../support/prometheus.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { canaryYaml, releaseTinyService } from '../support/tiny-service.ts';
import { userTokens } from '../support/tokens.ts';

// A service's repository ships dashboards in its release: anyone who can push wrote them. They
// cannot take another service's name or prefix, another team (the owner is forced), read another
// team's series (every panel runs through the query gate as the viewer), reach files through
// links, or take the control plane down with a YAML bomb. Real Prometheus, real deployment.

const ok = await storesAvailable();

/** Series of two teams; identity's carry a marker no answer to payments may contain. */
const SERIES = [
  'idp_proxy_requests_total{team="payments",service="payments-api",env="staging",code="2xx"} 5',
  'idp_proxy_requests_total{team="identity",service="users-api",env="staging",code="2xx",identity_secret="s3cr3t"} 9',
  'identity_only{team="identity",service="users-api",env="staging"} 42',
];

const dash = (name: string, query: string, extra = '') =>
  `name: ${name}\n${extra}panels:\n  - title: p\n    query: '${query}'\n    unit: none\n`;

/** 9 levels of 9 aliases: about 1 KB standing for 9^9 strings. */
function aliasBomb(): string {
  const lines = [`l0: &l0 [${Array(9).fill('"lollollol"').join(', ')}]`];
  for (let i = 1; i < 9; i++)
    lines.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('name: payments-api-bomb', 'panels: [{title: t, query: up}]');
  return `${lines.join('\n')}\n`;
}

const HOSTILE: Record<string, string> = {
  // Another service's generated dashboard, its prefix, and the service's own generated name.
  'users-api.yaml': dash('users-api', 'identity_only'),
  'users-prefix.yaml': dash('users-api-takeover', 'identity_only'),
  'own-name.yaml': dash('payments-api', 'up'),
  // Claims the identity team and another service: both are forced back to payments-api's.
  'claims.yaml': dash(
    'payments-api-claims',
    'sum by (team, identity_secret) ({__name__=~".+"})',
    'team: identity\nservice: users-api\n',
  ),
  // Queries written to reach identity's series.
  'wide.yaml': dash(
    'payments-api-wide',
    'identity_only or on() label_replace(idp_proxy_requests_total{team="identity"}, "x", "$1", "identity_secret", "(.*)") or absent(nothing)',
  ),
  'injection.yaml': dash('payments-api-injection', 'up{env="$env"} or identity_only{team=~".+"}'),
  'bomb.yaml': aliasBomb(),
  'deep.yaml': `${'['.repeat(200)}${']'.repeat(200)}\n`,
};

describe.skipIf(!ok)('security 18: dashboards from a repository', () => {
  let prom: ScrapedPrometheus;
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  let outside: string;
  const get = (token: string, path: string) => api(server, token, 'GET', `/api/observability/dashboards${path}`);

  beforeAll(async () => {
    prom = await startScrapedPrometheus(() => `${SERIES.join('\n')}\n`);
    await vi.waitFor(
      async () => {
        const body = (await (await fetch(`${prom.url}/api/v1/query?query=count(identity_only)`)).json()) as any;
        expect(body.data?.result?.[0]?.value?.[1]).toBe('1');
      },
      { timeout: 30_000, interval: 200 },
    );
    fx = envFixture(`observability:\n  prometheus:\n    url: ${prom.url}\n`);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave']);
    env = fx.envName('dsec');
    const created = await api(server, t.alice!, 'POST', '/api/environments', { name: env, from: 'cache' });
    expect(created.status, created.text).toBe(202);
    await waitForEnvironment(server, t.alice!, env, ['ready'], { failOn: ['failed'] });
    repo = serviceRepo({ prefix: 'idp-dash-sec-' });
    for (const [file, text] of Object.entries(HOSTILE)) repo.write(`.idp/dashboards/${file}`, text);
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'));
    expect(released.status, released.text).toBe(201);
    // A link planted in the unpacked release (archives with links are refused, see below): never followed.
    outside = mkdtempSync(join(tmpdir(), 'idp-dash-outside-'));
    writeFileSync(join(outside, 'secret.yaml'), dash('payments-api-linked', 'identity_only'));
    const { dir } = await server.services.deployments.releases.get('payments-api', released.json.version);
    symlinkSync(join(outside, 'secret.yaml'), join(dir, '.idp/dashboards/linked.yaml'));
    const res = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: released.json.version,
    });
    expect(res.status, res.text).toBe(202);
    expect((await waitForDeployment(server, t.alice!, res.json.id)).status).toBe('healthy');
  }, 180_000);

  afterAll(async () => {
    if (server && env) await api(server, t.alice!, 'DELETE', `/api/environments/${env}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    await prom?.stop();
    repo?.remove();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it("cannot take another service's name or prefix, its own generated name, or another team", async () => {
    const started = Date.now();
    const alice = await get(t.alice!, '');
    expect(alice.status, alice.text).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    const problems = Object.fromEntries(alice.json.problems.map((p: any) => [p.file, p]));
    expect(problems['.idp/dashboards/users-api.yaml'].message).toContain('does not start with "payments-api-"');
    expect(problems['.idp/dashboards/users-prefix.yaml'].message).toContain('does not start with "payments-api-"');
    expect(problems['.idp/dashboards/own-name.yaml'].message).toContain('does not start with "payments-api-"');
    const generated = alice.json.items.find((i: any) => i.name === 'payments-api');
    expect(generated.source).toBe('generated');

    const admin = await get(server.adminToken, '');
    const users = admin.json.items.find((i: any) => i.name === 'users-api');
    expect(users).toMatchObject({ source: 'generated', team: 'identity' });
    expect(admin.json.items.map((i: any) => i.name)).not.toContain('users-api-takeover');
    const claims = admin.json.items.find((i: any) => i.name === 'payments-api-claims');
    expect(claims).toMatchObject({ team: 'payments', service: 'payments-api', source: 'repository' });

    const dave = await get(t.dave!, '');
    expect(dave.json.items.map((i: any) => i.name).filter((n: string) => n.startsWith('payments-api'))).toEqual([]);
    expect((await get(t.dave!, '/payments-api-claims?env=staging')).status).toBe(404);
  });

  it("reads no other team's series, whatever the panel's query says", async () => {
    for (const name of ['payments-api-claims', 'payments-api-wide', 'payments-api-injection']) {
      const res = await get(t.alice!, `/${name}?env=staging&since=5m`);
      expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(200);
      // The answer's data (the queries themselves name identity's labels, of course).
      const data = JSON.stringify(res.json.panels.map((p: any) => [p.series, p.error]));
      expect(data, name).not.toMatch(/identity|s3cr3t|users-api/);
      const values = res.json.panels.flatMap((p: any) => p.series.flatMap((s: any) => s.points.map((x: any) => x[1])));
      expect(values, name).not.toContain(42); // identity_only's value
      expect(values, name).not.toContain(9); // identity's request count
    }
    // The claims panel does read payments' series: scoped, not blanked.
    const claims = await vi.waitFor(
      async () => {
        const res = await get(t.alice!, '/payments-api-claims?env=staging&since=5m');
        expect(res.json.panels[0].series.length).toBeGreaterThan(0);
        return res;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(new Set(claims.json.panels[0].series.map((s: any) => s.labels.team))).toEqual(new Set(['payments']));
    // An admin reading the same dashboard sees everything: the scoping is the viewer's, not the dashboard's.
    const admin = await get(server.adminToken, '/payments-api-claims?env=staging&since=5m');
    expect(admin.text).toMatch(/s3cr3t/);
  });

  it('refuses links (at upload and in the unpacked release) and YAML bombs, reporting each', async () => {
    const problems = Object.fromEntries((await get(t.alice!, '')).json.problems.map((p: any) => [p.file, p]));
    expect(problems['.idp/dashboards/linked.yaml'].message).toMatch(/symbolic link/);
    expect(problems['.idp/dashboards/bomb.yaml'].message).toMatch(/alias|expanded size/);
    expect(problems['.idp/dashboards/deep.yaml'].message).toMatch(/nest|depth|mapping/);
    expect((await get(server.adminToken, '')).json.items.map((i: any) => i.name)).not.toContain('payments-api-linked');

    const linked = serviceRepo({ prefix: 'idp-dash-link-' });
    try {
      linked.write('.idp/deploy.yaml', canaryYaml('    - weight: 100'));
      linked.write('server.js', 'require("http").createServer((q, s) => s.end()).listen(process.env.PORT);\n');
      linked.link('.idp/dashboards/x.yaml', '/etc/passwd');
      const sha = linked.commit();
      const res = await uploadRelease(server, t.alice!, 'payments-api', sha, linked.archive(sha));
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.code).toBe('RELEASE_ARCHIVE_UNSAFE');
    } finally {
      linked.remove();
    }
  });
});
