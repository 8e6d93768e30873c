import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, startTestServer, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// A pull request's payload is untrusted: the commit is fetched from the configured cloneUrl only,
// never from head.repo.clone_url (a local path or another host named by the sender), and branch
// names or titles carrying shell/SQL metacharacters or path traversal end in a recorded outcome
// with a DNS-safe environment name, without an environment made from a commit that was not fetched.

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

  it('a fork without the trust label: no environment, no secrets, nothing fetched; the outcome recorded', async () => {
    const before = await envNames(server!);
    const d = await open(2400, (b) => {
      b.pull_request.head.repo.full_name = 'mallory/Hello-World';
      b.pull_request.head.repo.clone_url = `file://${lure}`;
      b.pull_request.labels = [];
    });
    expect(d.outcome).toMatch(/comes from a fork/);
    expect(d.outcome).toMatch(/preview-trusted/);
    const p = await preview(server!, 2400);
    expect(p).toMatchObject({ fork: 1, trusted: 0 });
    expect(await envNames(server!)).toEqual(before);
    expect(await envNames(server!)).not.toContain(p!.env);
  });

  it('the trust label on a fork, from a sender who is not in the owning team: still no environment', async () => {
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
