import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { api, ROOT, runCli, startTestServer, type CliResult, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';
import { waitUntil } from '../support/wait.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// A pull request from a fork runs untrusted code: its preview is made with the base's secret
// names holding placeholder values (a configured test value, else `placeholder`), never the
// base's values. The trust label added by a member of the owning team (a catalog User whose
// github.com/user-login is the sender) rebuilds it with the base's secrets and redeploys the
// head; added by anyone else it changes nothing. Previews are their team's environments, marked
// with their pull request in env:list, and are not counted in the actAs user's own quota.

const ok = await storesAvailable();
const SECRET = 'e2e-previews-forks-Secret-7Kq2';
const MEMBER = 'octo-member';
const STAGING = Object.fromEntries(
  readFileSync(join(ROOT, 'examples/acme/seed/staging-secrets.yaml'), 'utf8')
    .split('\n')
    .filter((l) => /^payments-api\//.test(l))
    .map((l) => l.slice('payments-api/'.length).split(': ') as [string, string]),
);

const DEPLOY_YAML = `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: rolling
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;
/** Answers with the secrets it was started with, so the test sees what the workload sees. */
const SERVER_JS = `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION, STRIPE_KEY: process.env.STRIPE_KEY, WEBHOOK_SIGNING_SECRET: process.env.WEBHOOK_SIGNING_SECRET })); }).listen(process.env.PORT);\n`;

describe.skipIf(!ok)('previews of pull requests from forks: placeholder secrets until trusted', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let repo: ServiceRepo;
  let repoName = '';
  const envs: Record<number, string> = {};
  const as: Record<string, Record<string, string>> = {};
  const idp = (user: string, args: string[]): Promise<CliResult> => runCli(args, as[user]);

  const payload = (action: string, sha: string, number: number, fork: boolean) => {
    const p = examplePayload('pull_request', 'opened');
    p.action = action;
    p.repository.full_name = repoName;
    p.pull_request.head.repo.full_name = fork ? `mallory/${repoName.split('/')[1]}` : repoName;
    p.pull_request.head.repo.fork = fork;
    p.number = number;
    p.pull_request.number = number;
    p.pull_request.draft = false;
    p.pull_request.head.sha = sha;
    p.pull_request.labels = [];
    return p;
  };
  const labeled = (sha: string, number: number, sender: string) => {
    const p = payload('labeled', sha, number, true);
    p.label = { name: 'preview-trusted' };
    p.pull_request.labels = [{ name: 'preview-trusted' }];
    p.sender.login = sender;
    return p;
  };
  const pushPr = (text: string, number: number) => {
    repo.write('api/server.js', `${SERVER_JS}// ${text}\n`);
    const sha = repo.commit(text);
    execFileSync('git', ['update-ref', `refs/pull/${number}/head`, sha], { cwd: repo.dir });
    return sha;
  };
  const previewRow = (number: number) =>
    server.services.store.db
      .selectFrom('previews')
      .selectAll()
      .where('repo', '=', repoName)
      .where('number', '=', number)
      .executeTakeFirst();
  const finished = (id: string) =>
    waitUntil(
      `delivery ${id} processed`,
      async () => {
        const d = await server.services.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirst();
        return d && ['done', 'ignored', 'failed'].includes(d.status) ? d : null;
      },
      { timeout: 120_000 },
    );
  const send = async (body: Record<string, unknown>) => {
    const r = await deliver(server, { body, secret: SECRET });
    expect(r.status, r.text).toBe(202);
    return finished(r.id);
  };
  /** What the preview's workload answers through the proxy: the secrets it was started with. */
  const workload = async (number: number) => {
    const svc = (JSON.parse((await previewRow(number))!.services) as { url: string }[])[0]!;
    const r = await proxyGet(server.services.deployments.service.proxyPort, new URL(svc.url).host);
    expect(r.status, r.body).toBe(200);
    return JSON.parse(r.body) as Record<string, string>;
  };
  const secretValue = async (env: string, key: string) => {
    const r = await api(server, server.adminToken, 'GET', `/api/secrets/${env}/payments-api/${key}`);
    expect(r.status, r.text).toBe(200);
    return (r.json as { value: string }).value;
  };

  beforeAll(async () => {
    process.env.IDP_TEST_E2E_PREVIEW_FORKS_SECRET = SECRET;
    fx = envFixture();
    for (const n of [21, 31, 32, 33, 34, 35, 36]) envs[n] = fx.envName(`pr-${n}-prf`);
    repoName = `Codertocat/${envs[21]!.slice('pr-21-'.length)}`;
    repo = serviceRepo({ files: { 'api/.idp/deploy.yaml': DEPLOY_YAML, 'api/server.js': SERVER_JS } });
    repo.commit('main');
    // A member of payments known on GitHub as octo-member.
    const member = join(fx.dir, 'member.yaml');
    writeFileSync(
      member,
      `apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ${MEMBER}\n  annotations: {github.com/user-login: ${MEMBER}}\nspec:\n  profile: {displayName: Octo Member, email: octo@company.com}\n  memberOf: [payments]\n`,
    );
    writeFileSync(
      fx.configPath,
      readFileSync(fx.configPath, 'utf8').replace(
        'catalog:\n  locations:\n',
        `catalog:\n  locations:\n    - ${member}\n`,
      ),
    );
    appendFileSync(
      fx.configPath,
      `\npreviews:\n  github:\n    webhookSecret: {env: IDP_TEST_E2E_PREVIEW_FORKS_SECRET}\n  repositories:\n    ${repoName}:\n      cloneUrl: file://${repo.dir}\n      team: payments\n      actAs: alice\n      base: staging\n      maxOpen: 10\n      placeholders: {STRIPE_KEY: sk_test_fork_placeholder}\n`,
    );
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    const tokens = await userTokens(server, ['alice', 'bob', 'dave']);
    for (const [u, token] of Object.entries(tokens)) as[u] = { IDP_URL: server.url, IDP_TOKEN: token };
  }, 60_000);
  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    repo?.remove();
  });

  it("a fork's preview serves its commit with placeholders; an outsider's trust label changes nothing; a member's copies the base's secrets and redeploys", async () => {
    expect(STAGING.STRIPE_KEY).toMatch(/^sk_test_acme_/);
    const sha = pushPr('fork', 21);
    expect(await send(payload('opened', sha, 21, true)), 'opened').toMatchObject({ status: 'done' });
    const row = (await previewRow(21))!;
    expect(row).toMatchObject({ env: envs[21], status: 'ready', head_sha: sha, fork: 1, trusted: 0 });
    const alice = { principal: server.services.tokens.principalFor('user:default/alice', null), requestId: 't' };
    expect(await server.services.environments.get(alice, envs[21]!)).toMatchObject({
      status: 'ready',
      team: 'payments',
      owner: 'group:payments',
      secrets: 'placeholders',
      preview: { repo: repoName, number: 21 },
      resources: { secrets: expect.stringMatching(/placeholder values/) },
    });
    // Every name of the base is there, each with a placeholder: through the secrets API and in the workload.
    expect(await secretValue(envs[21]!, 'STRIPE_KEY')).toBe('sk_test_fork_placeholder');
    expect(await secretValue(envs[21]!, 'WEBHOOK_SIGNING_SECRET')).toBe('placeholder');
    const untrusted = await workload(21);
    expect(untrusted).toMatchObject({
      version: expect.stringMatching(`^${sha.slice(0, 12)}`),
      STRIPE_KEY: 'sk_test_fork_placeholder',
      WEBHOOK_SIGNING_SECRET: 'placeholder',
    });

    const outsider = await send(labeled(sha, 21, 'mallory'));
    expect(outsider).toMatchObject({ status: 'ignored', outcome: expect.stringMatching(/outside the owning team/) });
    expect(await previewRow(21)).toMatchObject({ trusted: 0, status: 'ready' });
    expect(await secretValue(envs[21]!, 'STRIPE_KEY')).toBe('sk_test_fork_placeholder');
    expect((await workload(21)).STRIPE_KEY).toBe('sk_test_fork_placeholder');

    const member = await send(labeled(sha, 21, MEMBER));
    expect(member, member.outcome ?? '').toMatchObject({
      status: 'done',
      outcome: expect.stringMatching(/added by a team member/),
    });
    expect(await previewRow(21)).toMatchObject({ trusted: 1, status: 'ready', head_sha: sha });
    expect(await server.services.environments.get(alice, envs[21]!)).toMatchObject({
      status: 'ready',
      secrets: 'copy',
      preview: { repo: repoName, number: 21 },
    });
    expect(await secretValue(envs[21]!, 'STRIPE_KEY')).toBe(STAGING.STRIPE_KEY);
    expect(await secretValue(envs[21]!, 'WEBHOOK_SIGNING_SECRET')).toBe(STAGING.WEBHOOK_SIGNING_SECRET);
    // Redeployed: the workload now runs with the base's values.
    expect(await workload(21)).toMatchObject({
      version: expect.stringMatching(`^${sha.slice(0, 12)}`),
      STRIPE_KEY: STAGING.STRIPE_KEY,
      WEBHOOK_SIGNING_SECRET: STAGING.WEBHOOK_SIGNING_SECRET,
    });

    // env:list: the preview is the team's, marked with its pull request (bob is in payments too).
    for (const user of ['alice', 'bob']) {
      const table = await idp(user, ['env:list']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/\bPULL REQUEST$/);
      const line = table.stdout.split('\n').find((l) => l.startsWith(`${envs[21]} `));
      expect(line, table.stdout).toMatch(new RegExp(`group:payments.*${repoName}#21$`));
    }
    const json = JSON.parse((await idp('alice', ['env:list', '-o', 'json'])).stdout) as {
      items: { name: string; preview: unknown; secrets: string; owner: string }[];
    };
    expect(json.items.find((e) => e.name === envs[21])).toMatchObject({
      preview: { repo: repoName, number: 21 },
      secrets: 'copy',
      owner: 'group:payments',
    });
    // dave (not in payments) sees no preview among his environments.
    expect((await idp('dave', ['env:list'])).stdout).not.toContain(envs[21]!);

    expect(await send(payload('closed', sha, 21, true)), 'closed').toMatchObject({ status: 'done' });
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 300_000);

  it("six previews made as the same actAs user are not refused by that user's own environment quota", async () => {
    const numbers = [31, 32, 33, 34, 35, 36];
    const shas = numbers.map((n) => pushPr(`pr ${n}`, n));
    for (const [i, n] of numbers.entries())
      expect(await send(payload('opened', shas[i]!, n, false)), `opened ${n}`).toMatchObject({ status: 'done' });
    for (const n of numbers) expect(await previewRow(n)).toMatchObject({ status: 'ready', env: envs[n] });
    const alice = { principal: server.services.tokens.principalFor('user:default/alice', null), requestId: 't' };
    const mine = await server.services.environments.list(alice, { scope: 'mine' });
    expect(
      mine
        .filter((e) => e.preview?.repo === repoName)
        .map((e) => e.name)
        .sort(),
    ).toEqual(numbers.map((n) => envs[n]).sort());
    // alice's own quota is untouched: she may still make an environment of her own (here with
    // placeholder secrets, through the CLI), which is not a preview.
    const ownName = fx.envName('own');
    const made = await idp('alice', ['env:create', `--name=${ownName}`, '--from=staging', '--secrets=placeholders']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain("secrets_mode: placeholders (the base's secret names, none of its values)");
    expect(made.stdout).not.toMatch(/^preview:/m);
    expect(await secretValue(ownName, 'STRIPE_KEY')).toBe('placeholder');
    const own = JSON.parse((await idp('alice', ['env:get', ownName, '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(own).toMatchObject({ preview: null, secrets: 'placeholders', owner: 'alice@company.com' });
    expect((await idp('alice', ['env:delete', ownName])).code).toBe(0);
    for (const [i, n] of numbers.entries())
      expect(await send(payload('closed', shas[i]!, n, false)), `closed ${n}`).toMatchObject({ status: 'done' });
    await server.services.environments.idle();
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 300_000);
});
