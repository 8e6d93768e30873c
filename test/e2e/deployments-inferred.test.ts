import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type TestServer } from '../support/server.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { proxyGet, serviceRepo, uploadRelease, type ServiceRepo } from '../support/deploy.ts';

// A deploy.yaml of the design's shape (service, team, canary steps, healthcheck, rollback; no
// build, no run) deploying a tiny package.json service end to end: the control plane infers
// `npm start` and `npm ci --omit=dev` from the release's files (no dependencies, so npm ci needs
// no network), builds and runs it in the sandbox with the default two replicas, and `idp deploy`
// prints what was inferred. Also: nothing to infer from, and an engines.node the runtime lacks.

const ok = await storesAvailable();

const DESIGN_YAML = `service: {name: payments-api, team: payments}
deploy:
  strategy: canary
  canary:
    - {weight: 50, pause: 1s}
    - {weight: 100}
  healthcheck: {path: /health, interval: 1s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%"}
`;
const PACKAGE_JSON = (engines = '>=20') =>
  `${JSON.stringify(
    {
      name: 'tiny-payments',
      version: '1.0.0',
      private: true,
      scripts: { start: 'node server.js' },
      engines: { node: engines },
    },
    null,
    2,
  )}\n`;
const LOCKFILE = `${JSON.stringify(
  {
    name: 'tiny-payments',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'tiny-payments', version: '1.0.0' } },
  },
  null,
  2,
)}\n`;
const SERVER_JS = (tag: string) =>
  `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ tag: '${tag}', version: process.env.IDP_RELEASE_VERSION, port: process.env.PORT })); }).listen(process.env.PORT);\n`;

describe.skipIf(!ok)('deploy.yaml without build or run: inferred from package.json', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  /** The last commit of `repo`. */
  let head: string;
  let env: string;
  const cli = (args: string[]) => runCli(args, { IDP_URL: server.url, IDP_TOKEN: t.alice! });
  const commit = (files: Record<string, string | null>) => {
    for (const [name, text] of Object.entries(files)) {
      if (text === null) rmSync(join(repo.dir, name), { force: true });
      else repo.write(name, text);
    }
    head = repo.commit();
  };

  const setup = envServer({ users: ['alice'], label: 'infer' });

  beforeAll(() => {
    ({ server, tokens: t, env } = setup);
    repo = serviceRepo({ prefix: 'idp-infer-repo-' });
    commit({
      '.idp/deploy.yaml': DESIGN_YAML,
      'package.json': PACKAGE_JSON(),
      'package-lock.json': LOCKFILE,
      'server.js': SERVER_JS('v1'),
    });
  });

  afterAll(() => {
    repo?.remove();
  });

  it('deploy:validate shows what would be inferred, as text and as JSON', async () => {
    const [table, json] = await Promise.all([
      cli(['deploy:validate', repo.dir]),
      cli(['deploy:validate', repo.dir, '-o', 'json']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('deploy.yaml is valid (service payments-api, team payments, strategy canary');
    expect(table.stderr).toContain('run: npm start (inferred from package.json scripts.start)');
    expect(table.stderr).toContain('build: npm ci --omit=dev (inferred from package-lock.json)');
    expect(table.stderr).toMatch(/node: >=20 \(from package\.json engines; runtime has v\d+\.\d+\.\d+\)/);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({
      valid: true,
      spec: { run: { command: 'npm start', replicas: 2 }, build: { command: 'npm ci --omit=dev' } },
      inferred: [
        { field: 'run', value: 'npm start', from: 'package.json scripts.start' },
        { field: 'build', value: 'npm ci --omit=dev', from: 'package-lock.json' },
        { field: 'node', value: '>=20', from: 'package.json engines.node' },
      ],
      node: { status: 'ok', range: '>=20' },
    });
  });

  it('idp deploy: the control plane infers run and build from the release, prints them, and runs two replicas', async () => {
    const first = await cli(['deploy', '--env', env, '--path', repo.dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('the platform infers how to build and run it');
    expect(first.stderr).toContain('  run: npm start (inferred from package.json scripts.start)');
    expect(first.stderr).toContain('  build: npm ci --omit=dev (inferred from package-lock.json)');
    expect(first.stderr).toContain('  node: >=20 (from package.json engines)');
    expect(first.stdout).toMatch(/status:\s+healthy/);

    // The server records what it inferred on the release it builds from the uploaded files.
    const again = await uploadRelease(server, t.alice!, 'payments-api', head, repo.archive(head));
    const release = again.json;
    expect([200, 201]).toContain(again.status);
    expect(release.spec.run).toEqual({ command: 'npm start', replicas: 2 });
    expect(release.spec.build).toEqual({ command: 'npm ci --omit=dev' });
    expect(release.inferred.map((n: any) => n.field)).toEqual(['run', 'build', 'node']);

    // Two replicas (the default) answer through the proxy, each on its own port (pids are per sandbox).
    const port = server.services.deployments.service.proxyPort;
    const host = `payments-api.${env}-alice.localhost`;
    const ports = new Set<string>();
    await expect
      .poll(
        async () => {
          const r = await proxyGet(port, host);
          expect(r.status).toBe(200);
          ports.add(JSON.parse(r.body).port as string);
          return ports.size;
        },
        { timeout: 10_000, interval: 20 },
      )
      .toBe(2);

    // A second release walks the design's canary steps and is promoted.
    commit({ 'server.js': SERVER_JS('v2') });
    const second = await cli(['deploy', '--env', env, '--path', repo.dir, '-o', 'json']);
    expect(second.code, second.stderr).toBe(0);
    const dep = JSON.parse(second.stdout);
    expect(dep).toMatchObject({ status: 'healthy', kind: 'deploy', strategy: 'canary' });
    expect(dep.steps.map((s: any) => [s.weight, s.outcome])).toEqual([
      [50, expect.stringMatching(/passed|inconclusive/)],
      [100, 'promoted'],
    ]);
    expect(JSON.parse((await proxyGet(port, host)).body).tag).toBe('v2');
  }, 180_000);

  it('nothing to infer from: DEPLOY_RUN_NOT_INFERRED naming the files looked for and the fix', async () => {
    commit({ 'package.json': null, 'package-lock.json': null });
    const [validate, deploy] = await Promise.all([
      cli(['deploy:validate', repo.dir]),
      cli(['deploy', '--env', env, '--path', repo.dir]),
    ]);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain(
      'run.command: is not given and none could be inferred: looked for a Procfile with a web: line and a package.json with scripts.start, found neither',
    );
    expect(validate.stderr).toContain('Error [DEPLOY_RUN_NOT_INFERRED]');
    expect(validate.stderr).toContain('Try this: Add `run: {command: node server.js}`');
    expect(deploy.code).toBe(2);
    expect(deploy.stderr).toContain('Error [DEPLOY_RUN_NOT_INFERRED]: .idp/deploy.yaml has no run command');
    expect(deploy.stderr).toContain('Try this: Add `run: {command: node server.js}`');
  }, 60_000);

  it("an engines.node the runtime's Node.js does not satisfy: a warning in validate, refused at deploy", async () => {
    commit({ 'package.json': PACKAGE_JSON('>=99'), 'package-lock.json': LOCKFILE });
    const validate = await cli(['deploy:validate', repo.dir]);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stderr).toMatch(
      /Warning: package\.json wants Node\.js >=99 \(engines\.node\), but the runtime has v\d+\.\d+\.\d+; the control plane will refuse the deploy/,
    );
    const deploy = await cli(['deploy', '--env', env, '--path', repo.dir]);
    expect(deploy.code).toBe(2);
    expect(deploy.stderr).toMatch(
      /Error \[DEPLOY_NODE_UNSUPPORTED\]: package\.json wants Node\.js >=99 \(engines\.node\), but the runtime has v\d+\.\d+\.\d+/,
    );
  }, 60_000);
});
