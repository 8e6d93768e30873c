import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, versionOf, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, REDIS_URL, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { startGithubFake, type GithubFake } from '../support/github-fake.ts';
import { exited, freePort, startServerProcess, startTestServer, type TestServer } from '../support/server.ts';
import { VERSION_SERVER_JS } from '../support/tiny-service.ts';
import { GiveUp, waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// A control plane SIGKILLed in the middle of a preview's work, started again on the same data dir,
// finishes that work: killed while the pull request's commit is rolling out (the environment made,
// the canary's replica running), the delivery is redone after the restart and the preview serves
// the commit from exactly one environment, with no replica of the killed run left, and the commit
// status ends in success. Killed while the preview is being torn down (its replica ignores SIGTERM,
// so stopping it takes the grace period), the restart finishes the teardown: no database, role,
// Redis key or process is left. Killed while the environment is being made (the environment steps'
// own crash point), the restart finishes making it and deploys the commit. Stopped gracefully
// mid-rollout, the stop is not reported or recorded as the preview failing; the restart finishes it.

const ok = await storesAvailable();
const SECRET = 'e2e-previews-restart-Secret-2Wd6';
const TOKEN = 'ghs_e2e-previews-restart-token';

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;
/**
 * Answers its version once its environment's Redis holds the key `listen` (until then the rollout
 * waits for it to listen, so the test decides when it may finish: the workload's sandbox sees its
 * own Redis, not the test's files); ignores SIGTERM, as services that do not drain do (stopping it
 * takes the grace period). Plain RESP over a socket: the service has no dependencies.
 */
const SERVER_JS = `process.on('SIGTERM', () => {});
const u = new URL(process.env.REDIS_URL);
const cmd = (...a) => '*' + a.length + '\\r\\n' + a.map((x) => '$' + Buffer.byteLength(x) + '\\r\\n' + x + '\\r\\n').join('');
const go = () => {
  let got = '';
  const c = require('net').connect(Number(u.port || 6379), u.hostname);
  c.on('data', (d) => (got += d));
  c.on('error', () => {});
  c.on('close', () => (got.includes('$2\\r\\ngo\\r\\n') ? serve() : setTimeout(go, 50)));
  const auth = u.username ? cmd('AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password)) : '';
  c.end(auth + cmd('GET', process.env.REDIS_KEY_PREFIX + 'listen') + cmd('QUIT'));
};
const serve = () => ${VERSION_SERVER_JS.trim().replace(/;$/, '')};
go();
`;

interface Proc {
  pid: number;
  pgid: number;
}

/**
 * Every live process of a replica of payments-api under dataDir: its working directory or command
 * line (the sandbox binds the release as /app, so inside it the directory reads /app) names a
 * release there, or it is in the process group of one that does.
 */
function releaseProcesses(dataDir: string): Proc[] {
  const base = join(dataDir, 'releases', 'payments-api');
  const all: (Proc & { ours: boolean })[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd = '';
    let cmdline: string;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      if (!cmdline!) continue; // gone, or not ours to read
    }
    const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue;
    const rel = relative(base, cwd);
    const ours =
      (cwd !== '' && !rel.startsWith('..') && rel !== '' && !rel.startsWith('/')) || cmdline.includes(`${base}/`);
    all.push({ pid: Number(entry), pgid: Number(fields[2]), ours });
  }
  const pgids = new Set(all.filter((p) => p.ours).map((p) => p.pgid));
  return all.filter((p) => pgids.has(p.pgid)).map(({ pid, pgid }) => ({ pid, pgid }));
}

const groups = (ps: Proc[]) => [...new Set(ps.map((p) => p.pgid))].sort((a, b) => a - b);

describe.skipIf(!ok)(
  'previews: a control plane killed mid-create, mid-deploy or mid-teardown finishes after a restart',
  () => {
    let fx: EnvFixture;
    let github: GithubFake;
    let repo: ServiceRepo;
    let dataDir: string;
    let proxyPort: number;
    let child: Awaited<ReturnType<typeof startServerProcess>> | null = null;
    let server: TestServer | null = null;
    let repoName = '';
    let envName = '';
    let env8 = '';
    let env9 = '';

    const payload = (action: string, sha: string, number = 7) => {
      const p = examplePayload('pull_request', action);
      p.repository.full_name = repoName;
      p.pull_request.head.repo.full_name = repoName;
      p.number = number;
      p.pull_request.number = number;
      p.pull_request.head.sha = sha;
      return p;
    };
    const startChild = async (env: Record<string, string> = {}) => {
      child = await startServerProcess(['--data-dir', dataDir, '--config', fx.configPath], {
        IDP_PROXY_PORT: String(proxyPort),
        IDP_LOG_LEVEL: 'warn',
        ...env,
      });
      return child;
    };
    const kill = async () => {
      child!.child.kill('SIGKILL');
      await exited(child!.child);
      child = null;
    };
    /** A read of the control plane's own store (SQLite in the data dir), as it stands now. */
    const query = <T>(sqlText: string, ...params: unknown[]): T[] => {
      const db = new SqliteDatabase(join(dataDir, 'idp.sqlite'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sqlText).all(...params) as T[];
      } finally {
        db.close();
      }
    };
    const delivery = (id: string) =>
      query<{ status: string; outcome: string | null; attempts: number }>(
        'select status, outcome, attempts from webhook_deliveries where id = ?',
        id,
      )[0];
    const finished = (id: string, timeout = 120_000) =>
      waitUntil(
        `delivery ${id} processed`,
        () => {
          const d = delivery(id);
          if (d && ['done', 'ignored', 'failed'].includes(d.status)) return d;
          throw new Error(
            `delivery ${JSON.stringify(d)}; preview ${JSON.stringify(preview())}; deployments ${JSON.stringify(deployments())}; server output: ${child?.output().slice(-3000) ?? '-'}`,
          );
        },
        { timeout },
      );
    const deployments = (env = envName) =>
      query<{ id: string; status: string; processes: string | null; version: string }>(
        'select id, status, processes, version from deployments where env = ? order by created_at',
        env,
      );
    const preview = (number = 7) =>
      query<{ status: string; head_sha: string; services: string; env: string }>(
        'select status, head_sha, services, env from previews where repo = ? and number = ?',
        repoName,
        number,
      )[0];
    const liveEnvironments = (env = envName) =>
      query<{ name: string; status: string }>(
        "select name, status from environments where name = ? and status != 'deleted'",
        env,
      );
    const alive = (pid: number) => releaseProcesses(dataDir).some((p) => p.pid === pid);

    beforeAll(async () => {
      process.env.IDP_TEST_E2E_PREVIEWS_RESTART_SECRET = SECRET;
      process.env.IDP_TEST_E2E_PREVIEWS_RESTART_TOKEN = TOKEN;
      github = await startGithubFake({ token: TOKEN });
      fx = envFixture();
      envName = fx.envName('pr-7-rst');
      env8 = fx.envName('pr-8-rst');
      env9 = fx.envName('pr-9-rst');
      repoName = `Codertocat/${envName.slice('pr-7-'.length)}`;
      repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': SERVER_JS } });
      repo.commit('main');
      appendFileSync(
        fx.configPath,
        `\npreviews:
  github:
    webhookSecret: {env: IDP_TEST_E2E_PREVIEWS_RESTART_SECRET}
    apiUrl: ${github.url}
    token: {env: IDP_TEST_E2E_PREVIEWS_RESTART_TOKEN}
  repositories:
    ${repoName}:
      cloneUrl: file://${repo.dir}
      team: payments
      actAs: alice
`,
      );
      dataDir = mkdtempSync(join(tmpdir(), 'idp-previews-restart-'));
      proxyPort = await freePort();
    }, 60_000);

    afterAll(async () => {
      if (child) await kill();
      if (!server && dataDir)
        server = await startTestServer({ configPath: fx.configPath, dataDir, proxyPort }).catch(() => null);
      await server?.services.environments.idle();
      await server?.stop();
      // Nothing may outlive the file, whatever failed above.
      if (dataDir)
        for (const p of releaseProcesses(dataDir))
          try {
            process.kill(-p.pgid, 'SIGKILL');
          } catch {
            /* gone */
          }
      await github?.close();
      await fx?.cleanup();
      repo?.remove();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 120_000);

    it('killed while the commit rolls out: the restart redoes the delivery, one environment serves the commit, no replica of the killed run is left, the status ends in success', async () => {
      repo.write('api/server.js', `${SERVER_JS}// pull request 7\n`);
      const sha = repo.commit('pull request 7');
      execFileSync('git', ['update-ref', 'refs/pull/7/head', sha], { cwd: repo.dir });

      const first = await startChild();
      const opened = await deliver(first, { body: payload('opened', sha), secret: SECRET });
      expect(opened.status, opened.text).toBe(202);
      // Mid-deploy: the environment is ready and the rollout's replica runs (not listening yet).
      const inFlight = await waitUntil(
        'the rollout to be in flight with its replica recorded',
        () => {
          const [d] = deployments();
          if (d && ['healthy', 'failed', 'rolled_back', 'aborted'].includes(d.status))
            throw new GiveUp(`the rollout ended: ${d.status}`);
          const procs = JSON.parse(d?.processes ?? '[]') as Proc[];
          return d && procs.length === 1 && procs.every((p) => alive(p.pid)) ? { ...d, procs } : null;
        },
        { timeout: 120_000 },
      );
      expect(liveEnvironments()).toEqual([{ name: envName, status: 'ready' }]);
      expect(preview()).toMatchObject({ status: 'deploying', head_sha: sha });
      expect(delivery(opened.id)).toMatchObject({ status: 'processing', attempts: 1 });
      expect(groups(releaseProcesses(dataDir))).toEqual(groups(inFlight.procs));
      await kill();
      // Detached: the replica outlives the control plane until the next start deals with it.
      expect(releaseProcesses(dataDir).map((p) => p.pid)).toContain(inFlight.procs[0]!.pid);

      await startChild();
      await waitUntil("the killed run's rollout ended by the restart", () => deployments()[0]?.status === 'aborted', {
        timeout: 60_000,
      });
      // The replica may listen now: the redone rollout can finish.
      const redis = new Redis(REDIS_URL);
      await redis.set(`redis-${envName}:listen`, 'go').finally(() => redis.disconnect());
      const d = await finished(opened.id);
      expect(d, d.outcome ?? '').toMatchObject({ status: 'done', attempts: 2 });

      const row = preview()!;
      expect(row).toMatchObject({ status: 'ready', head_sha: sha, env: envName });
      const [svc] = JSON.parse(row.services) as { url: string; version: string; status: string }[];
      expect(svc).toMatchObject({ status: 'healthy', version: expect.stringMatching(`^${sha.slice(0, 12)}`) });
      expect(versionOf(await proxyGet(proxyPort, new URL(svc!.url).host, '/', { newConnection: true }))).toBe(
        svc!.version,
      );
      expect(liveEnvironments()).toEqual([{ name: envName, status: 'ready' }]);
      expect((await fx.leftovers()).databases).toEqual([`pg-${envName}`]);
      // The killed run's replica is gone; what runs is the recorded set of the healthy release.
      for (const p of inFlight.procs) expect(alive(p.pid), `replica ${p.pid} of the killed run`).toBe(false);
      const [runtime] = query<{ processes: string; version: string }>(
        'select processes, version from service_runtime where env = ?',
        envName,
      );
      expect(runtime?.version).toBe(svc!.version);
      expect(groups(releaseProcesses(dataDir))).toEqual(groups(JSON.parse(runtime!.processes) as Proc[]));

      // What the pull request shows: pending while it rolled out, then success linking to the preview.
      await waitUntil(
        'the success status on the commit',
        () =>
          github
            .statuses()
            .filter((s) => s.sha === sha)
            .at(-1)?.state === 'success',
        { timeout: 30_000 },
      );
      const states = github.statuses().filter((s) => s.sha === sha);
      expect(states[0]?.state).toBe('pending');
      expect(states.at(-1)).toMatchObject({ state: 'success', target_url: svc!.url, context: 'idp/preview' });
      expect(states.filter((s) => s.state === 'failure')).toEqual([]);
      const comments = [...github.comments.values()].filter((c) => c.number === 7);
      expect(comments).toHaveLength(1);
    }, 400_000);

    it('killed while the preview is torn down: the restart finishes the teardown and nothing is left', async () => {
      const sha = preview()!.head_sha;
      const [runtime] = query<{ processes: string }>('select processes from service_runtime where env = ?', envName);
      const serving = JSON.parse(runtime!.processes) as Proc[];
      expect(serving).toHaveLength(1);
      const closed = await deliver(child!, { body: payload('closed', sha), secret: SECRET });
      expect(closed.status, closed.text).toBe(202);
      // Mid-teardown: the environment is being deleted and its replica, ignoring SIGTERM, still runs.
      await waitUntil(
        'the teardown to be stopping the replica',
        () => {
          const [step] = query<{ status: string }>(
            `select s.status from environment_steps s join environments e on e.id = s.env_id
           where e.name = ? and e.status = 'deleting' and s.name = 'delete:namespace'`,
            envName,
          );
          return step?.status === 'running' && preview()?.status === 'deleting' && serving.every((p) => alive(p.pid));
        },
        { timeout: 30_000 },
      );
      await kill();

      server = await startTestServer({ configPath: fx.configPath, dataDir, proxyPort });
      expect(await finished(closed.id, 120_000)).toMatchObject({ status: 'done' });
      await server.services.environments.idle();
      expect(preview()).toMatchObject({ status: 'deleted' });
      expect(liveEnvironments()).toEqual([]);
      expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
      expect(releaseProcesses(dataDir)).toEqual([]);
      await waitUntil(
        'the comment to say it was torn down',
        () => [...github.comments.values()].find((c) => c.number === 7)?.body.includes('🗑️ Torn down'),
        { timeout: 30_000 },
      );
      expect([...github.comments.values()].filter((c) => c.number === 7)).toHaveLength(1);
    }, 300_000);

    it('killed while the environment is being made: the restart finishes making it and deploys the commit', async () => {
      await server!.services.environments.idle();
      await server!.stop();
      server = null;
      repo.write('api/server.js', `${SERVER_JS}// pull request 8\n`);
      const sha = repo.commit('pull request 8');
      execFileSync('git', ['update-ref', 'refs/pull/8/head', sha], { cwd: repo.dir });
      // The environment steps' own fault injection: the control plane SIGKILLs itself once the
      // preview's database is cloned, in the middle of making the environment.
      const crashing = await startChild({ IDP_TEST_CRASH_AT: 'database:created' });
      const opened = await deliver(crashing, { body: payload('opened', sha, 8), secret: SECRET });
      expect(opened.status, opened.text).toBe(202);
      await exited(crashing.child);
      child = null;
      expect(liveEnvironments(env8)).toEqual([{ name: env8, status: 'provisioning' }]);
      expect(preview(8)).toMatchObject({ status: 'creating' });
      expect(delivery(opened.id)).toMatchObject({ status: 'processing', attempts: 1 });

      server = await startTestServer({ configPath: fx.configPath, dataDir, proxyPort });
      await waitUntil('the environment made after the restart', () => liveEnvironments(env8)[0]?.status === 'ready', {
        timeout: 120_000,
      });
      const redis = new Redis(REDIS_URL);
      await redis.set(`redis-${env8}:listen`, 'go').finally(() => redis.disconnect());
      const d = await finished(opened.id);
      expect(d, d.outcome ?? '').toMatchObject({ status: 'done', attempts: 2 });
      const row = preview(8)!;
      expect(row).toMatchObject({ status: 'ready', head_sha: sha, env: env8 });
      const [svc] = JSON.parse(row.services) as { url: string; version: string }[];
      expect(svc!.version.startsWith(sha.slice(0, 12))).toBe(true);
      expect(versionOf(await proxyGet(proxyPort, new URL(svc!.url).host, '/', { newConnection: true }))).toBe(
        svc!.version,
      );
      expect(liveEnvironments(env8)).toHaveLength(1);
      expect(deployments(env8).map((x) => x.status)).toEqual(['healthy']);

      const closed = await deliver(server, { body: payload('closed', sha, 8), secret: SECRET });
      expect(await finished(closed.id)).toMatchObject({ status: 'done' });
      await server.services.environments.idle();
      expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
      await waitUntil('no replica left', () => releaseProcesses(dataDir).length === 0, { timeout: 30_000 });
    }, 300_000);

    it('stopped gracefully mid-rollout: no failure is reported or recorded, and the restart finishes the preview', async () => {
      repo.write('api/server.js', `${SERVER_JS}// pull request 9\n`);
      const sha = repo.commit('pull request 9');
      execFileSync('git', ['update-ref', 'refs/pull/9/head', sha], { cwd: repo.dir });
      // `idp server` as a user runs it, stopped with SIGTERM (a graceful stop).
      await server!.services.environments.idle();
      await server!.stop();
      server = null;
      const running = await startChild();
      const opened = await deliver(running, { body: payload('opened', sha, 9), secret: SECRET });
      expect(opened.status, opened.text).toBe(202);
      await waitUntil(
        'the rollout to be in flight',
        () => {
          const [d] = deployments(env9);
          if (d && ['healthy', 'failed', 'rolled_back', 'aborted'].includes(d.status))
            throw new GiveUp(`the rollout ended: ${d.status}`);
          return d && (JSON.parse(d.processes ?? '[]') as Proc[]).length === 1;
        },
        { timeout: 120_000 },
      );
      running.child.kill('SIGTERM');
      await exited(running.child);
      child = null;
      // Stopping is not the preview failing: nothing says so, the delivery is left to be redone.
      expect(preview(9)).toMatchObject({ status: 'deploying', head_sha: sha });
      expect(delivery(opened.id)).toMatchObject({ status: 'processing', attempts: 1 });
      expect(github.statuses().filter((s) => s.sha === sha && s.state !== 'pending')).toEqual([]);

      server = await startTestServer({ configPath: fx.configPath, dataDir, proxyPort });
      const redis = new Redis(REDIS_URL);
      await redis.set(`redis-${env9}:listen`, 'go').finally(() => redis.disconnect());
      const d = await finished(opened.id);
      expect(d, d.outcome ?? '').toMatchObject({ status: 'done', attempts: 2 });
      expect(preview(9)).toMatchObject({ status: 'ready', head_sha: sha });
      await waitUntil(
        'the success status on the commit',
        () =>
          github
            .statuses()
            .filter((s) => s.sha === sha)
            .at(-1)?.state === 'success',
        { timeout: 30_000 },
      );
      expect(github.statuses().filter((s) => s.sha === sha && s.state === 'failure')).toEqual([]);
      const closed = await deliver(server, { body: payload('closed', sha, 9), secret: SECRET });
      expect(await finished(closed.id)).toMatchObject({ status: 'done' });
      await server.services.environments.idle();
      expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
      await waitUntil('no replica left', () => releaseProcesses(dataDir).length === 0, { timeout: 30_000 });
    }, 300_000);
  },
);
