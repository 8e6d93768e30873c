import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { ACME_CONFIG, api, ROOT, startTestServer, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// A pull request's payload is untrusted: the commit is fetched from the configured cloneUrl only,
// never from head.repo.clone_url (a local path or another host named by the sender), and branch
// names or titles carrying shell/SQL metacharacters or path traversal end in a recorded outcome
// with a DNS-safe environment name, without an environment made from a commit that was not fetched.
// A fork's pull request without the trust label gets a preview, but no value of the base's secrets
// reaches it anywhere: not the secrets API, not the workload's environment, not logs, not audit.

const SECRET = 'sec24-webhook-Secret-Q8z';
const REPO = 'Codertocat/Hello-World';

describe('previews: untrusted pull request payloads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-sec24-'));
  const dataDir = join(dir, 'data');
  const lure = join(dir, 'lure');
  let lureSha = '';
  let config: string;
  let server: TestServer | undefined;

  const delivery = (s: TestServer, id: string) =>
    s.services.store.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  const preview = (s: TestServer, n: number) =>
    s.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', REPO)
      .where('number', '=', n)
      .executeTakeFirst();
  const envNames = async (s: TestServer) =>
    (await s.services.store.db.selectFrom('environments').select('name').execute()).map((e) => e.name);

  beforeAll(async () => {
    // A repository the payload points at, holding the very commit the payload names: if idp fetched
    // from head.repo.clone_url it would find it there.
    mkdirSync(join(lure, 'svc', '.idp'), { recursive: true });
    writeFileSync(join(lure, 'svc', '.idp', 'deploy.yaml'), 'name: lure\n');
    const g = (...args: string[]) =>
      execFileSync('git', ['-C', lure, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    g('init', '-q');
    g('add', '.');
    g('commit', '-qm', 'lure');
    lureSha = g('rev-parse', 'HEAD').trim();
    process.env.IDP_TEST_SEC24_WEBHOOK_SECRET = SECRET;
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['previews'], {
      github: { webhookSecret: { env: 'IDP_TEST_SEC24_WEBHOOK_SECRET' } },
      repositories: {
        [REPO]: { cloneUrl: `file://${join(dir, 'configured-repo-missing')}`, team: 'payments', actAs: 'alice' },
      },
    });
    config = join(dirname(ACME_CONFIG), 'idp.sec24.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startTestServer({ catalogTimer: false, environmentTimers: false, configPath: config, dataDir });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(config, { force: true });
  });

  const open = async (n: number, adjust: (b: Record<string, any>) => void) => {
    const body = examplePayload('pull_request', 'opened');
    body.number = n;
    body.pull_request.number = n;
    body.pull_request.draft = false;
    body.pull_request.head.sha = lureSha;
    adjust(body);
    const r = await deliver(server!, { body, secret: SECRET });
    expect(r.status, r.text).toBe(202);
    await waitUntil(`delivery for #${n} finished`, async () => (await delivery(server!, r.id))?.finished_at != null);
    return (await delivery(server!, r.id))!;
  };

  it('the trust label on a fork, from a sender who is not in the owning team: not trusted, nothing made', async () => {
    const before = await envNames(server!);
    const d = await open(2405, (b) => {
      b.action = 'labeled';
      b.label = { name: 'preview-trusted' };
      b.sender.login = 'mallory';
      b.pull_request.head.repo.full_name = 'mallory/Hello-World';
      b.pull_request.labels = [{ name: 'preview-trusted' }];
    });
    expect(d.outcome).toMatch(/outside the owning team; not trusted/);
    expect((await preview(server!, 2405))?.trusted ?? 0).toBe(0);
    expect(await envNames(server!)).toEqual(before);
  });

  it('head.repo.clone_url naming a local path or another host: fetched from the configured cloneUrl only', async () => {
    const before = await envNames(server!);
    for (const [n, url] of [
      [2401, `file://${lure}`],
      [2402, lure],
      [2403, `file://${dataDir}`],
      [2404, 'https://evil.example.invalid/x.git'],
    ] as const) {
      const d = await open(n, (b) => {
        b.pull_request.head.repo.clone_url = url;
        b.pull_request.head.repo.git_url = url;
        b.pull_request.head.repo.ssh_url = url;
      });
      // The lure holds the commit: had idp fetched from the payload's URL it would have found it.
      expect(d.status).toBe('failed');
      expect(d.outcome).toMatch(/could not be fetched/);
      expect(d.outcome).not.toContain(String(url));
      expect((await preview(server!, n))!.status).toBe('failed');
    }
    expect(await envNames(server!)).toEqual(before);
  });

  it('branch names and titles with shell, SQL and path-traversal characters: recorded, safe name, nothing written', async () => {
    const before = await envNames(server!);
    const nasty = `../../${'..'}/etc/$(id)\`id\`'; DROP TABLE previews;--`;
    const d = await open(2410, (b) => {
      b.pull_request.head.ref = nasty;
      b.pull_request.title = nasty;
      b.pull_request.head.label = nasty;
    });
    expect(d.status).toBe('failed');
    expect(d.outcome).toMatch(/could not be fetched/);
    const p = await preview(server!, 2410);
    expect(p).toBeDefined();
    expect(p!.head_ref).toBe(nasty);
    expect(p!.title).toBe(nasty);
    expect(p!.env).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    expect(p!.env.length).toBeLessThanOrEqual(40);
    // The tables are all there and nothing named after the branch appeared outside scratch dirs.
    expect((await server!.services.store.db.selectFrom('previews').select('number').execute()).length).toBeGreaterThan(
      0,
    );
    expect(await envNames(server!)).toEqual(before);
    for (const where of ['/etc', dirname(dataDir), process.cwd(), tmpdir()])
      expect(readdirSync(where).filter((f) => /\$\(id\)|DROP|`id`/.test(f))).toEqual([]);
    expect(existsSync('/etc/$(id)')).toBe(false);
  });
});

const stores = await storesAvailable();

/** Every value of staging's secrets (all services), as the seed file sets them. */
const STAGING_VALUES = readFileSync(join(ROOT, 'examples/acme/seed/staging-secrets.yaml'), 'utf8')
  .split('\n')
  .filter((l) => /^[a-z][-a-z0-9]*\/[A-Z_]+: /.test(l))
  .map((l) => l.slice(l.indexOf(': ') + 2).trim());

/** Every file below `dir`, read as text (the replicas' logs, the store, the namespaces). */
function filesBelow(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesBelow(path));
    else if (st?.isFile() && st.size < 64 * 1024 * 1024)
      out.push({ path, text: readFileSync(path).toString('latin1') });
  }
  return out;
}

describe.skipIf(!stores)("previews: a fork's pull request without the trust label", () => {
  const SECRET_FORK = 'sec24-fork-webhook-Secret-Zr4';
  let fx: EnvFixture;
  let repo: ServiceRepo;
  let server: TestServer | undefined;
  let repoName = '';
  let env = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-sec24-fork-'));
  const logs: string[] = [];

  beforeAll(async () => {
    process.env.IDP_TEST_SEC24_FORK_SECRET = SECRET_FORK;
    fx = envFixture();
    env = fx.envName('pr-7-sfk');
    repoName = `Codertocat/${env.slice('pr-7-'.length)}`;
    // The fork's code prints and answers its whole environment: whatever it was given shows.
    const serverJs = `console.log(JSON.stringify(process.env)); require('http').createServer((q, s) => { s.end(JSON.stringify(process.env)); }).listen(process.env.PORT);\n`;
    repo = serviceRepo({
      files: {
        'api/.idp/deploy.yaml': `service: {name: payments-api, team: payments}\nrun: {command: node server.js, replicas: 1}\ndeploy:\n  strategy: rolling\n  healthcheck: {path: /health, interval: 1s, threshold: 3}\n`,
        'api/server.js': serverJs,
      },
    });
    const sha = repo.commit('fork');
    execFileSync('git', ['update-ref', 'refs/pull/7/head', sha], { cwd: repo.dir });
    appendFileSync(
      fx.configPath,
      `\npreviews:\n  github:\n    webhookSecret: {env: IDP_TEST_SEC24_FORK_SECRET}\n  repositories:\n    ${repoName}:\n      cloneUrl: file://${repo.dir}\n      team: payments\n      actAs: alice\n`,
    );
    server = await startTestServer({
      configPath: fx.configPath,
      environmentTimers: false,
      dataDir,
      log: (line: string) => logs.push(line),
    });
    const body = examplePayload('pull_request', 'opened');
    body.repository.full_name = repoName;
    body.number = 7;
    body.pull_request.number = 7;
    body.pull_request.draft = false;
    body.pull_request.head.sha = sha;
    body.pull_request.head.repo.full_name = `mallory/${repoName.split('/')[1]}`;
    body.pull_request.head.repo.fork = true;
    body.pull_request.labels = [];
    const r = await deliver(server, { body, secret: SECRET_FORK });
    expect(r.status, r.text).toBe(202);
    const d = await waitUntil(
      'the fork delivery processed',
      async () => {
        const row = await server!.services.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('id', '=', r.id)
          .executeTakeFirst();
        return row?.finished_at ? row : null;
      },
      { timeout: 120_000 },
    );
    expect(d, d.outcome ?? '').toMatchObject({ status: 'done' });
  }, 180_000);

  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets a preview, untrusted, whose secrets are placeholders', async () => {
    expect(STAGING_VALUES.length).toBeGreaterThanOrEqual(4);
    const p = await server!.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repoName)
      .executeTakeFirst();
    expect(p).toMatchObject({ env, status: 'ready', fork: 1, trusted: 0 });
    const e = await api(server!, server!.adminToken, 'GET', `/api/environments/${env}`);
    expect(e.json).toMatchObject({ status: 'ready', secrets: 'placeholders', preview: { repo: repoName, number: 7 } });
  });

  it('no value of the base reaches it through the secrets API', async () => {
    const list = await api(server!, server!.adminToken, 'GET', `/api/secrets?env=${env}`);
    expect(list.status, list.text).toBe(200);
    const items = (list.json as { items: { service: string; key: string }[] }).items;
    // Every name of staging is there…
    expect(items.map((i) => `${i.service}/${i.key}`).sort()).toEqual(
      readFileSync(join(ROOT, 'examples/acme/seed/staging-secrets.yaml'), 'utf8')
        .split('\n')
        .filter((l) => /^[a-z][-a-z0-9]*\/[A-Z_]+: /.test(l))
        .map((l) => l.slice(0, l.indexOf(': ')))
        .sort(),
    );
    // …each holding a placeholder, in its only version.
    for (const i of items) {
      const v = await api(server!, server!.adminToken, 'GET', `/api/secrets/${env}/${i.service}/${i.key}`);
      expect(v.json).toMatchObject({ value: 'placeholder', version: 1 });
    }
  });

  it('no value of the base reaches the workload, its logs, the server log, audit or any file', async () => {
    const row = await server!.services.store.db
      .selectFrom('previews')
      .select('services')
      .where('repo', '=', repoName)
      .executeTakeFirstOrThrow();
    const svc = (JSON.parse(row.services) as { url: string }[])[0]!;
    const answer = await proxyGet(server!.services.deployments.service.proxyPort, new URL(svc.url).host);
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body) as Record<string, string>;
    expect(seen).toMatchObject({ STRIPE_KEY: 'placeholder', WEBHOOK_SIGNING_SECRET: 'placeholder' });
    const audit = await api(server!, server!.adminToken, 'GET', '/api/audit?limit=500');
    expect(audit.status).toBe(200);
    const files = filesBelow(dataDir);
    // The replica's log holds what it printed: its environment.
    expect(files.some((f) => f.text.includes('"STRIPE_KEY":"placeholder"'))).toBe(true);
    for (const value of STAGING_VALUES) {
      expect(answer.body).not.toContain(value);
      expect(audit.text).not.toContain(value);
      expect(logs.join('\n')).not.toContain(value);
      expect(files.filter((f) => f.text.includes(value)).map((f) => f.path)).toEqual([]);
    }
  });
});
