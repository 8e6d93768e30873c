import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeploySpec } from '@idp/core';
import { proxyGet } from '../support/deploy.ts';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import {
  defaultEnvironment,
  defaultRemote,
  goldenPathConfig,
  removeRemote,
  startGoldenServer,
  userToken,
  type GoldenServer,
} from '../support/golden-path.ts';
import { ROOT, api, exited, runCli } from '../support/server.ts';
import { waitForTask } from '../support/templates.ts';
import { waitUntil } from '../support/wait.ts';

// The shipped golden paths, end to end, as a developer runs them: the demo's templates
// (examples/acme/templates, registered from the config's catalog location), `idp create … --set
// name=…` through the real bin against a real `idp server` process, publishing to a real bare git
// repository, registering the new Component (owned by Alice's team), cloning an environment from
// staging (PostgreSQL + Redis) and deploying it until healthy; then GET /health through the edge
// proxy. Then the same with the control plane SIGKILLed while the task is mid-way (in
// idp:env:create or idp:deploy), started again on the same data dir: the task resumes and ends
// with a healthy service.

const ok = await storesAvailable();
const ADMIN = `golden-path-admin-${randomBytes(12).toString('hex')}`;

/** GET through the edge proxy, on a new connection (the proxy restarts with the server). */
const viaProxy = (port: number, host: string, path: string) =>
  proxyGet(port, host, path, { newConnection: true, timeoutMs: 5000 });

describe.skipIf(!ok)('golden paths: idp create → publish → register → environment → healthy deploy', () => {
  let fx: EnvFixture;
  let config: string;
  let dataDir: string;
  let server: GoldenServer | null = null;
  let alice = '';
  const names: string[] = [];

  const start = async (proxyPort?: number) => {
    server = await startGoldenServer(config, dataDir, ADMIN, proxyPort);
    return server;
  };
  const stop = async () => {
    const child = server?.proc.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
  };
  const serviceName = (label: string) => {
    const name = `${label}-${fx.id}`;
    names.push(name);
    fx.envName(label); // so fx.leftovers() / cleanup know the environment <label>-<id>… made from it
    return name;
  };
  const idp = (...args: string[]) => runCli(args, server!.cliEnv(alice));

  beforeAll(async () => {
    fx = envFixture();
    config = goldenPathConfig(fx);
    dataDir = mkdtempSync(join(tmpdir(), 'idp-golden-path-'));
    await start();
    alice = await userToken(server!.proc, ADMIN, 'alice');
  }, 120_000);

  afterAll(async () => {
    if (server && server.proc.child.exitCode === null) {
      for (const name of names)
        await api(server.proc, alice, 'DELETE', `/api/environments/${defaultEnvironment(name)}`);
      // Deletion is a task of its own: wait until every environment made here is gone.
      for (const name of names)
        await waitUntil(
          `${defaultEnvironment(name)} deleted`,
          async () => {
            const res = await api(server!.proc, alice, 'GET', `/api/environments/${defaultEnvironment(name)}`);
            return res.status === 404 || res.json?.status === 'deleted';
          },
          { timeout: 60_000, interval: 200 },
        ).catch(() => undefined);
    }
    await stop();
    for (const name of names) removeRemote(name);
    await fx?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('the three templates come from the catalog location in the config', async () => {
    const list = await idp('template:list', '-o', 'json');
    expect(list.code, list.stderr).toBe(0);
    const items = JSON.parse(list.stdout).items ?? JSON.parse(list.stdout);
    expect(items.map((t: any) => t.name).sort()).toEqual(['node-service', 'static-site', 'worker']);
    const entity = await api(server!.proc, alice, 'GET', '/api/catalog/entities/by-name/template/default/node-service');
    expect(entity.status, entity.text).toBe(200);
    expect(entity.json.metadata.annotations['backstage.io/managed-by-location']).toBe(
      `file:${join(ROOT, 'examples/acme/templates/node-service/template.yaml')}`,
    );
    const detail = await idp('template:get', 'node-service');
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toMatch(/name/);
    expect(detail.stdout).toMatch(/owner/);
  });

  it.each([['node-service'], ['worker'], ['static-site']])(
    '%s --dry-run: the rendered files, a valid deploy.yaml for the team, code copied as written; nothing published',
    async (template) => {
      const name = `gp-dry-${fx.id}`;
      const dry = await idp('create', template, '--set', `name=${name}`, '--dry-run', '-o', 'json');
      expect(dry.code, dry.stderr).toBe(0);
      const files = Object.fromEntries(
        JSON.parse(dry.stdout).files.map((f: any) => [f.path, f.base64 ? '(binary)' : f.content]),
      );
      expect(Object.keys(files)).toEqual(
        expect.arrayContaining(['.idp/deploy.yaml', 'catalog-info.yaml', 'package.json', 'README.md']),
      );
      const spec = parseDeploySpec(files['.idp/deploy.yaml']);
      expect(spec.ok, JSON.stringify(spec)).toBe(true);
      expect(files['.idp/deploy.yaml']).toContain(`service: {name: ${name}, team: payments}`);
      expect(files['catalog-info.yaml']).toMatch(new RegExp(`name: ${name}\\n[\\s\\S]*owner: group:payments`));
      expect(JSON.parse(files['package.json'])).toMatchObject({ name, scripts: { test: 'node --test' } });
      // Nothing left unrendered, and code copied byte for byte (copyWithoutRender).
      for (const [path, content] of Object.entries(files)) expect(content, path).not.toContain('${{');
      const code = template === 'static-site' ? 'server.js' : template === 'worker' ? 'src/worker.js' : 'src/server.js';
      expect(files[code]).toBe(readFileSync(join(ROOT, 'examples/acme/templates', template, 'skeleton', code), 'utf8'));
      expect(existsSync(defaultRemote(name))).toBe(false);
    },
  );

  it("owner given as an entity ref (as Backstage's OwnerPicker answers) or a name: the Group's name in deploy.yaml", async () => {
    for (const owner of ['group:default/identity', 'identity']) {
      const dry = await idp(
        'create',
        'node-service',
        '--set',
        `name=gp-own-${fx.id}`,
        '--set',
        `owner=${owner}`,
        '--dry-run',
        '-o',
        'json',
      );
      expect(dry.code, dry.stderr).toBe(0);
      const deployYaml = JSON.parse(dry.stdout).files.find((f: any) => f.path === '.idp/deploy.yaml').content;
      expect(deployYaml).toContain(`service: {name: gp-own-${fx.id}, team: identity}`);
    }
  });

  it('node-service with its defaults: a healthy service through the proxy, in the catalog, owned by the team', async () => {
    const name = serviceName('gp-api');
    const run = await idp('create', 'node-service', '--set', `name=${name}`);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (const step of ['fetch', 'publish', 'register', 'environment', 'deploy']) expect(run.stderr).toContain(step);

    // The repository: a real bare repository holding the rendered skeleton.
    const remote = defaultRemote(name);
    expect(run.stdout).toContain(`file://${remote}`);
    const files = execFileSync('git', ['--git-dir', remote, 'ls-tree', '-r', '--name-only', 'main'], {
      encoding: 'utf8',
    });
    expect(files.split('\n')).toEqual(
      expect.arrayContaining(['.idp/deploy.yaml', 'catalog-info.yaml', 'package.json', 'src/server.js']),
    );
    const deployYaml = execFileSync('git', ['--git-dir', remote, 'show', 'main:.idp/deploy.yaml'], {
      encoding: 'utf8',
    });
    expect(deployYaml).toContain(`service: {name: ${name}, team: payments}`);
    expect(deployYaml).toContain('strategy: canary');
    // What the developer clones runs its own tests with no install (no npm dependencies).
    const clone = mkdtempSync(join(tmpdir(), 'idp-golden-clone-'));
    try {
      execFileSync('git', ['clone', '-q', remote, clone]);
      const tested = spawnSync(process.execPath, ['--test'], {
        cwd: clone,
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      });
      expect(tested.status, `${tested.stdout}\n${tested.stderr}`).toBe(0);
      expect(tested.stdout).toMatch(/^# pass 3$/m);
      const pkg = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8'));
      expect(pkg.name).toBe(name);
      expect(pkg.dependencies).toBeUndefined();
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }

    // The catalog: the new Component, owned by Alice's team (the owner parameter's default).
    const entity = await api(server!.proc, alice, 'GET', `/api/catalog/entities/by-name/component/default/${name}`);
    expect(entity.status, entity.text).toBe(200);
    expect(entity.json.spec.owner).toBe('group:payments');

    // The environment and the deployment, healthy; /health answers 200 through the proxy.
    const env = await api(server!.proc, alice, 'GET', `/api/environments/${defaultEnvironment(name)}`);
    expect(env.json.status).toBe('ready');
    const host = `${name}.${env.json.resources.namespace}.localhost`;
    const health = await viaProxy(server!.proxyPort, host, '/health');
    expect(health.status, health.body).toBe(200);
    expect(JSON.parse(health.body).checks).toEqual({ postgres: 'ok', redis: 'ok' });
    const metrics = await viaProxy(server!.proxyPort, host, '/metrics');
    expect(metrics.body).toMatch(/^http_requests_total\{method="GET",route="\/health",status="200"\} \d+$/m);

    // The task's output links: the repository, the catalog entity, the running URL.
    const task = (await api(server!.proc, alice, 'GET', '/api/tasks?createdBy=me')).json.items[0];
    expect(task.status).toBe('completed');
    expect(task.output.links.map((l: any) => l.url ?? l.entityRef)).toEqual([
      `file://${remote}`,
      `component:default/${name}`,
      expect.stringContaining(host),
    ]);
  }, 240_000);

  it.each([
    ['worker', 'gp-wrk', /"status":"ok"/],
    ['static-site', 'gp-web', /<h1>Hello from idp<\/h1>/],
  ])(
    '%s with its defaults: deployed healthy, answering through the proxy',
    async (template, label, answer) => {
      const name = serviceName(label);
      const run = await idp('create', template, '--set', `name=${name}`);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      const entity = await api(server!.proc, alice, 'GET', `/api/catalog/entities/by-name/component/default/${name}`);
      expect(entity.json.spec.owner).toBe('group:payments');
      const env = await api(server!.proc, alice, 'GET', `/api/environments/${defaultEnvironment(name)}`);
      const host = `${name}.${env.json.resources.namespace}.localhost`;
      const health = await viaProxy(server!.proxyPort, host, '/health');
      expect(health.status, health.body).toBe(200);
      const page = await viaProxy(server!.proxyPort, host, template === 'worker' ? '/health' : '/');
      expect(page.body).toMatch(answer);
    },
    240_000,
  );

  it.each([['environment'], ['deploy']])(
    'the control plane SIGKILLed during the %s step: restarted, the task resumes and the service ends healthy',
    async (step) => {
      const name = serviceName(`gp-kill-${step.slice(0, 3)}`);
      const started = await idp('create', 'node-service', '--set', `name=${name}`, '--no-wait');
      expect(started.code, started.stderr).toBe(0);
      const taskId = started.stdout.trim();
      const running = await waitUntil(
        `task ${taskId} in its ${step} step`,
        async () => {
          const t = (await api(server!.proc, alice, 'GET', `/api/tasks/${taskId}`)).json;
          if (t.status === 'completed' || t.status === 'failed') throw new Error(`ended before: ${JSON.stringify(t)}`);
          return t.steps.find((s: any) => s.id === step)?.status === 'running' ? t : undefined;
        },
        { timeout: 120_000, interval: 25 },
      );
      expect(running.steps.map((s: any) => s.status).slice(0, 3)).toEqual(['completed', 'completed', 'completed']);

      const proxyPort = server!.proxyPort;
      server!.proc.child.kill('SIGKILL');
      await exited(server!.proc.child);
      expect(server!.proc.child.signalCode).toBe('SIGKILL');
      await start(proxyPort);

      const task = await waitForTask(server!.proc, alice, taskId, ['completed', 'failed', 'cancelled'], 180_000);
      expect(task.status, JSON.stringify(task, null, 2)).toBe('completed');
      // Finished steps were not redone; the one that was running ran again (or was taken up where it was).
      const attempts = Object.fromEntries(task.steps.map((s: any) => [s.id, s.attempts]));
      expect([attempts.fetch, attempts.publish, attempts.register]).toEqual([1, 1, 1]);
      expect(attempts[step]).toBe(2);
      const logs = (await api(server!.proc, alice, 'GET', `/api/tasks/${taskId}/logs`)).json.items;
      expect(logs.map((l: any) => l.message).join('\n')).toMatch(/resumed after a restart/);

      const env = await api(server!.proc, alice, 'GET', `/api/environments/${defaultEnvironment(name)}`);
      expect(env.json.status).toBe('ready');
      const host = `${name}.${env.json.resources.namespace}.localhost`;
      const health = await waitUntil(
        `${host}/health through the proxy`,
        async () => {
          const r = await viaProxy(server!.proxyPort, host, '/health');
          return r.status === 200 ? r : undefined;
        },
        { timeout: 60_000, interval: 200 },
      );
      expect(JSON.parse(health.body).status).toBe('ok');
      const deployments = await api(
        server!.proc,
        alice,
        'GET',
        `/api/deployments?service=${name}&env=${defaultEnvironment(name)}`,
      );
      expect(deployments.status, deployments.text).toBe(200);
    },
    300_000,
  );
});
