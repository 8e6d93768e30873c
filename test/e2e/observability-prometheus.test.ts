import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { serviceRepo, uploadRelease, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import {
  ACME_CONFIG,
  api,
  exited,
  startServerProcess,
  startTestServer,
  stopProcess,
  type TestServer,
} from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// The Prometheus idp manages: started with the control plane on a free port, scraping the control
// plane (job idp) and the replicas that declare `metrics:` (job workloads) with the platform's
// labels winning over the ones a workload writes; stopped with it; and a missing binary is a
// clear line and a status, not a failed start. Real Prometheus (Debian's package), real server.

const PROMETHEUS_YAML = `observability:
  prometheus:
    listen: 127.0.0.1:0
    scrapeInterval: 1s
`;

/** The Acme test config plus `extra`, beside it (its catalog paths are relative). */
function acmeConfigWith(extra: string): string {
  const path = join(dirname(ACME_CONFIG), `idp.config.${Math.random().toString(36).slice(2)}.yaml`);
  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.delete('observability'); // the test config turns metrics storage off; `extra` says what this test wants
  writeFileSync(path, `${doc.toString()}\n${extra}`);
  return path;
}

async function status(server: { url: string }, token: string): Promise<any> {
  const res = await api(server, token, 'GET', '/api/observability/status');
  expect(res.status, res.text).toBe(200);
  return res.json;
}

async function promQuery(prometheus: string, query: string): Promise<any[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data?: { result?: any[] } };
  return body.data?.result ?? [];
}

async function activeTargets(prometheus: string): Promise<any[]> {
  const res = await fetch(`${prometheus}/api/v1/targets?state=active`);
  const body = (await res.json()) as { data?: { activeTargets?: any[] } };
  return body.data?.activeTargets ?? [];
}

/** pids of Prometheus processes whose config is under `dataDir`. */
function prometheusPids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (
        argv[0]?.endsWith('/prometheus') &&
        argv.includes(`--config.file=${join(dataDir, 'prometheus', 'prometheus.yml')}`)
      )
        pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

// Exposes a series with labels it has no right to: the platform's must win.
const FORGING_SERVER_JS = `require('http').createServer((q, s) => {
  if (q.url === '/metrics') {
    s.setHeader('content-type', 'text/plain; version=0.0.4');
    s.end('# TYPE forged_requests gauge\\nforged_requests{team="identity",service="users-api",env="production",namespace="nope",release="v0"} 42\\n');
    return;
  }
  s.end('{}');
}).listen(process.env.PORT);
`;

const METRICS_DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
metrics: {path: /metrics}
deploy:
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

const ok = await storesAvailable();

describe.skipIf(!ok)('managed Prometheus: scrapes the control plane and the workloads, platform labels win', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let env: string;
  let repo: ServiceRepo;
  let prometheus: string;
  const lines: string[] = [];

  beforeAll(async () => {
    fx = envFixture(PROMETHEUS_YAML);
    server = await startTestServer({
      configPath: fx.configPath,
      environmentTimers: false,
      log: (line) => lines.push(line),
    });
    t = await userTokens(server, ['alice']);
    env = fx.envName('prom');
    const created = await api(server, t.alice!, 'POST', '/api/environments', { name: env, from: 'cache' });
    expect(created.status, created.text).toBe(202);
    await waitForEnvironment(server, t.alice!, env, ['ready'], { failOn: ['failed'] });
    repo = serviceRepo({ prefix: 'idp-prom-repo-' });
  }, 90_000);

  afterAll(async () => {
    if (server && env) await api(server, t.alice!, 'DELETE', `/api/environments/${env}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it('comes up on a free port; the idp job is up and idp_http_requests_total has samples', async () => {
    await expect
      .poll(async () => (await status(server, server.adminToken)).prometheus, { timeout: 30_000, interval: 200 })
      .toMatchObject({ mode: 'managed', ready: true, problem: null });
    const s = await status(server, server.adminToken);
    prometheus = s.prometheus.url;
    expect(prometheus).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(prometheus).not.toBe('http://127.0.0.1:0');
    expect(lines.join('\n')).toMatch(/observability: Prometheus ready at http:\/\/127\.0\.0\.1:\d+ in \d+ ms/);

    await expect
      .poll(async () => (await activeTargets(prometheus)).find((x) => x.labels?.job === 'idp')?.health, {
        timeout: 30_000,
        interval: 250,
      })
      .toBe('up');
    await expect
      .poll(async () => (await promQuery(prometheus, 'idp_http_requests_total')).length, {
        timeout: 30_000,
        interval: 250,
      })
      .toBeGreaterThan(0);

    // Members see the mode and the scrape health, not where Prometheus listens.
    const member = await status(server, t.alice!);
    expect(member.prometheus.mode).toBe('managed');
    expect(member.prometheus.url).toBeUndefined();
    expect(member.scrape.reachable).toBe(true);
    expect(member.scrape.jobs.find((j: any) => j.job === 'idp')).toMatchObject({ up: 1 });
  }, 90_000);

  it("a replica's forged team label loses to the platform's; the target leaves with the environment", async () => {
    repo.write('.idp/deploy.yaml', METRICS_DEPLOY_YAML);
    repo.write('server.js', FORGING_SERVER_JS);
    const sha = repo.commit();
    const uploaded = await uploadRelease(server, t.alice!, 'payments-api', sha, repo.archive(sha));
    expect(uploaded.status, uploaded.text).toBe(201);
    const version = uploaded.json.version as string;
    const res = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(res.status, res.text).toBe(202);
    const deployment = await waitForDeployment(server, t.alice!, res.json.id);
    expect(deployment.status).toBe('healthy');

    const namespace = deployment.namespace as string;
    const file = join(server.dataDir, 'prometheus', 'targets', `${namespace}.json`);
    // Written when the replica started, a moment after the deployment's record says healthy.
    await expect.poll(() => readdirSync(dirname(file)).includes(`${namespace}.json`), { timeout: 10_000 }).toBe(true);
    const groups = JSON.parse(readFileSync(file, 'utf8'));
    expect(groups).toHaveLength(1);
    expect(groups[0].labels).toEqual({
      team: 'payments',
      service: 'payments-api',
      env,
      namespace,
      release: version,
      __metrics_path__: '/metrics',
    });
    expect(groups[0].targets).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);

    await expect
      .poll(async () => (await promQuery(prometheus, 'forged_requests')).map((r) => r.metric), {
        timeout: 30_000,
        interval: 250,
      })
      .toEqual([
        {
          __name__: 'forged_requests',
          instance: groups[0].targets[0],
          job: 'workloads',
          team: 'payments',
          service: 'payments-api',
          env,
          namespace,
          release: version,
        },
      ]);
    expect(await promQuery(prometheus, 'forged_requests{team="identity"}')).toEqual([]);
    expect((await status(server, server.adminToken)).targets).toBe(1);

    const deleted = await api(server, t.alice!, 'DELETE', `/api/environments/${env}`);
    expect(deleted.status, deleted.text).toBe(202);
    await expect.poll(() => readdirSync(dirname(file)).includes(`${namespace}.json`), { timeout: 30_000 }).toBe(false);
  }, 120_000);
});

describe('managed Prometheus as a child of `idp server`', () => {
  it('neither SIGTERM nor SIGKILL of the server leaves a Prometheus process behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-prom-proc-'));
    const config = acmeConfigWith(PROMETHEUS_YAML);
    const start = async () => {
      const server = await startServerProcess(['--data-dir', dataDir, '--config', config]);
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      await expect
        .poll(async () => (await status(server, token)).prometheus.ready, { timeout: 30_000, interval: 200 })
        .toBe(true);
      expect(prometheusPids(dataDir)).toHaveLength(1);
      expect(server.output()).toContain('observability: Prometheus starting at http://127.0.0.1:');
      return server;
    };
    try {
      await stopProcess((await start()).child);
      // Stopped before the server exits: nothing to wait for.
      expect(prometheusPids(dataDir)).toEqual([]);
      // Killed outright, the server cannot stop it: its watchdog sees the server's pipe close.
      const { child } = await start();
      child.kill('SIGKILL');
      await exited(child);
      await expect.poll(() => prometheusPids(dataDir), { timeout: 15_000 }).toEqual([]);
    } finally {
      for (const pid of prometheusPids(dataDir)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(config, { force: true });
    }
  }, 120_000);
});

describe('without Prometheus', () => {
  let server: TestServer | undefined;
  const config = acmeConfigWith(`observability:\n  prometheus:\n    binary: /nonexistent/prometheus\n`);
  const lines: string[] = [];

  afterAll(async () => {
    await server?.stop();
    rmSync(config, { force: true });
  });

  it('the server starts, says in one line what is missing, and the status says missing', async () => {
    server = await startTestServer({ configPath: config, log: (line) => lines.push(line) });
    expect(lines).toContain(
      'observability: Prometheus not found (observability.prometheus.binary=/nonexistent/prometheus); metrics queries answer 503 until it is installed: apt-get install -y prometheus, or set observability.prometheus.url',
    );
    const s = await status(server, server.adminToken);
    expect(s.prometheus).toMatchObject({ mode: 'missing', url: null, ready: null });
    expect(s.prometheus.hint).toContain('apt-get install -y prometheus');
    expect(s.scrape).toEqual({ reachable: false, jobs: [] });
  }, 60_000);
});

describe('with metrics storage turned off', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('starts no Prometheus, says so, and queries answer 503 naming the setting', async () => {
    const lines: string[] = [];
    // ACME_CONFIG is the test config: observability.prometheus.enabled: false.
    server = await startTestServer({ configPath: ACME_CONFIG, log: (line) => lines.push(line) });
    expect(lines).toContain('  observability: metrics storage is off (observability.prometheus.enabled: false)');
    const s = await status(server, server.adminToken);
    expect(s.prometheus).toMatchObject({ mode: 'disabled', url: null, ready: null });
    expect(s.prometheus.hint).toContain('observability.prometheus.enabled: true');
    const res = await fetch(`${server.url}/api/observability/query?query=up`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(res.status).toBe(503);
    expect(readdirSync(join(server.dataDir, 'prometheus')).filter((f) => f === 'prometheus.yml')).toEqual([]);
  }, 60_000);
});
