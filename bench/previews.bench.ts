// Preview environments benchmark (targets on this machine: webhook → the pull request's commit
// answering through the edge proxy, p50 ≤ 30 s; closed → every resource gone, p50 ≤ 10 s).
//
// A real control plane (in this process) on a fresh envFixture config with previews of one
// repository: a local git repository holding the demo's tiny service (one `node server.js`, no
// build) with a refs/pull/<n>/head ref per run. RUNS times: GitHub's example `opened` payload for
// a new pull request, signed and POSTed to /api/webhooks/github; measured from the POST to the
// first 200 through the edge proxy from the release of the pull request's commit (polled every
// POLL_MS). Then `closed`; measured from the POST until the preview is deleted and its database,
// role, Redis keys and ACL user are gone.
import { appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { proxyGet, serviceRepo, versionOf } from '../test/support/deploy.ts';
import { envFixture, storesAvailable } from '../test/support/environments.ts';
import { startTestServer } from '../test/support/server.ts';
import { VERSION_SERVER_JS } from '../test/support/tiny-service.ts';
import { deliver, examplePayload } from '../test/support/webhooks.ts';

const RUNS = Number(process.env.BENCH_PREVIEW_RUNS ?? 5);
const POLL_MS = 20;
const SECRET = 'bench-previews-Secret-8Wd3';
const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

async function until<T>(what: string, check: () => Promise<T | null>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`previews bench: timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

export async function run(): Promise<Record<string, number | string>> {
  if (!(await storesAvailable())) throw new Error('previews bench: needs PostgreSQL and Redis');
  process.env.IDP_BENCH_PREVIEWS_SECRET = SECRET;
  const fx = envFixture();
  // Preview names pr-<n>-prv-<run id>, registered so the fixture sees (and cleans) what they leave.
  const probe = fx.envName('pr-1-prv');
  const slug = probe.slice('pr-1-'.length);
  const repoName = `bench/${slug}`;
  const repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': VERSION_SERVER_JS } });
  repo.commit('main');
  appendFileSync(
    fx.configPath,
    `\npreviews:\n  github:\n    webhookSecret: {env: IDP_BENCH_PREVIEWS_SECRET}\n  repositories:\n    ${repoName}:\n      cloneUrl: file://${repo.dir}\n      team: payments\n      actAs: alice\n      base: staging\n`,
  );
  const server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
  const proxyPort = server.services.deployments.service.proxyPort;
  const row = (n: number) =>
    server.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repoName)
      .where('number', '=', n)
      .executeTakeFirst();
  const up: number[] = [];
  const down: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const n = 100 + i;
      fx.envName(`pr-${n}-prv`);
      repo.write('api/server.js', `${VERSION_SERVER_JS}// run ${i}\n`);
      const sha = repo.commit(`run ${i}`);
      execFileSync('git', ['update-ref', `refs/pull/${n}/head`, sha], { cwd: repo.dir });
      const payload = (action: string) => {
        const p = examplePayload('pull_request', action);
        p.repository.full_name = repoName;
        p.pull_request.head.repo.full_name = repoName;
        p.number = n;
        p.pull_request.number = n;
        p.pull_request.head.sha = sha;
        return p;
      };
      const t0 = performance.now();
      const opened = await deliver(server, { body: payload('opened'), secret: SECRET });
      if (opened.status !== 202) throw new Error(`previews bench: opened answered ${opened.status} ${opened.text}`);
      await until('the commit through the proxy', async () => {
        const r = await row(n);
        if (r?.status === 'failed') throw new Error(`previews bench: preview failed: ${r.note}`);
        const svc = r ? (JSON.parse(r.services) as { url: string | null }[])[0] : undefined;
        if (!svc?.url) return null;
        const a = await proxyGet(proxyPort, new URL(svc.url).host, '/', { newConnection: true }).catch(() => null);
        return a?.status === 200 && versionOf(a)?.startsWith(sha.slice(0, 12)) ? true : null;
      });
      up.push(performance.now() - t0);
      const t1 = performance.now();
      const closed = await deliver(server, { body: payload('closed'), secret: SECRET });
      if (closed.status !== 202) throw new Error(`previews bench: closed answered ${closed.status}`);
      await until('everything removed', async () => {
        if ((await row(n))?.status !== 'deleted') return null;
        const left = await fx.leftovers();
        return left.databases.length + left.roles.length + left.keys.length + left.users.length === 0 ? true : null;
      });
      down.push(performance.now() - t1);
      process.stdout.write(
        `  run ${i + 1}: up ${(up[i]! / 1000).toFixed(2)} s, down ${(down[i]! / 1000).toFixed(2)} s\n`,
      );
    }
  } finally {
    await server.services.environments.idle();
    await server.stop();
    await fx.cleanup();
    repo.remove();
  }
  const upP50 = percentile(up, 50);
  const downP50 = percentile(down, 50);
  const figures: Record<string, number | string> = {
    runs: RUNS,
    'webhook → serving p50 ms': Math.round(upP50),
    'webhook → serving max ms': Math.round(Math.max(...up)),
    'target ≤ 30 s': upP50 <= 30_000 ? 'met' : 'MISSED',
    'closed → all gone p50 ms': Math.round(downP50),
    'closed → all gone max ms': Math.round(Math.max(...down)),
    'target ≤ 10 s': downP50 <= 10_000 ? 'met' : 'MISSED',
  };
  process.stdout.write(
    `\npreviews, ${RUNS} runs: webhook → the PR's commit through the proxy p50 ${(upP50 / 1000).toFixed(2)} s (target ≤ 30 s: ${figures['target ≤ 30 s']}); closed → all gone p50 ${(downP50 / 1000).toFixed(2)} s (target ≤ 10 s: ${figures['target ≤ 10 s']})\n`,
  );
  return figures;
}
