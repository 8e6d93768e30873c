import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { ROOT, api, exited, freePort, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from './secrets-fixtures.ts';

// The Acme demo services on a clone of the demo's staging (seeded from examples/acme/seed), with
// the credentials `idp env:connect` hands out: the seeded tables are the services' tables, so
// every endpoint works on the seeded rows and on new ones (a service whose schema disagrees with
// the seed answers 500 here).

const execFileAsync = promisify(execFile);
const SERVICES = ['payments-api', 'users-api', 'notifications-service'] as const;
type ServiceName = (typeof SERVICES)[number];
const BUILD_COMMAND = 'npm ci --omit=dev --prefer-offline --no-audit --no-fund';

const available = await storesAvailable();

/** The parent's env without anything that would configure a service or steer npm elsewhere. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(PORT|HOST|DATABASE_URL|REDIS_URL|REDIS_KEY_PREFIX|IDP_RELEASE_VERSION|FAULT_\w+|INIT_CWD)$/.test(k))
      continue;
    if (/^npm_(package_|lifecycle_|command$|config_(local_prefix|prefix|workspaces?|include_workspace_root)$)/i.test(k))
      continue;
    env[k] = v;
  }
  return env;
}

interface Running {
  child: ChildProcess;
  url: string;
  output(): string;
}

async function start(dir: string, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server.js'], {
    cwd: dir,
    env: { ...cleanEnv(), PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${basename(dir)} exited ${child.exitCode}: ${output}`);
      const res = await fetch(`${url}/health`);
      if (res.status !== 200) throw new Error(`${basename(dir)} /health answered ${res.status}`);
    },
    { timeout: 15_000, interval: 50 },
  );
  return { child, url, output: () => output };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

describe.runIf(available)('Acme services on a clone of the seeded staging', { timeout: 90_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'idp-acme-staging-'));
  const svc = {} as Record<ServiceName, Running>;
  let fx: EnvFixture;
  let server: TestServer;
  let variables: Record<string, string>;

  beforeAll(async () => {
    fx = envFixture();
    const install = async (name: ServiceName) => {
      const dir = join(workDir, name);
      cpSync(join(ROOT, 'examples/acme/services', name), dir, {
        recursive: true,
        filter: (src) => basename(src) !== 'node_modules',
      });
      const [cmd, ...args] = BUILD_COMMAND.split(' ');
      await execFileAsync(cmd!, args, { cwd: dir, env: cleanEnv() });
      return dir;
    };
    const clone = async () => {
      server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
      const t = await userTokens(server, ['alice']);
      const name = fx.envName('acme-svc');
      const created = await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'staging', ttl: '1d' });
      expect(created.status, created.text).toBe(202);
      await vi.waitFor(
        async () => {
          const env = await api(server, t.alice!, 'GET', `/api/environments/${name}`);
          if (env.json.status === 'failed') throw new Error(`the clone failed: ${env.text}`);
          if (env.json.status !== 'ready') throw new Error(`still ${env.json.status}`);
        },
        { timeout: 60_000, interval: 100 },
      );
      const conn = await api(server, t.alice!, 'POST', `/api/environments/${name}/connect`);
      expect(conn.status, conn.text).toBe(200);
      variables = conn.json.variables;
    };
    const [dirs] = await Promise.all([Promise.all(SERVICES.map(install)), clone()]);
    await Promise.all(
      SERVICES.map(async (name, i) => {
        svc[name] = await start(dirs[i]!, {
          DATABASE_URL: variables.DATABASE_URL!,
          REDIS_URL: variables.REDIS_URL!,
          REDIS_KEY_PREFIX: variables.REDIS_KEY_PREFIX!,
        });
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      Object.values(svc).map(async ({ child }) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited(child);
      }),
    );
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('payments-api lists the seeded payments and takes new ones', async () => {
    const base = svc['payments-api'].url;
    const list = await call(base, 'GET', '/payments?limit=2');
    expect(list.status, list.text).toBe(200);
    expect(list.json.count).toBe(1000);
    expect(list.json.payments[0]).toMatchObject({ id: 1000, user_id: '1', description: 'order 1000' });

    const seeded = await call(base, 'GET', '/payments/17');
    expect(seeded).toMatchObject({ status: 200, json: { id: 17, user_id: '18', status: 'refunded' } });

    const made = await call(base, 'POST', '/payments', {
      amount_cents: 1250,
      currency: 'EUR',
      user_id: '7',
      description: 'order from the clone',
    });
    expect(made.status, `${made.text}\n${svc['payments-api'].output()}`).toBe(201);
    expect(made.json).toMatchObject({
      id: 1001,
      amount_cents: 1250,
      currency: 'EUR',
      user_id: '7',
      description: 'order from the clone',
      status: 'captured',
    });
    expect((await call(base, 'GET', '/payments/1001')).json).toEqual(made.json);
    const guest = await call(base, 'POST', '/payments', { amount_cents: 990, currency: 'USD' });
    expect(guest).toMatchObject({ status: 201, json: { user_id: null, description: null } });
    expect((await call(base, 'GET', '/payments')).json.count).toBe(1002);

    // The seed's foreign key holds: a payment names an existing user, or is refused with a 400 (not a 500).
    const unknown = await call(base, 'POST', '/payments', { amount_cents: 100, currency: 'EUR', user_id: '999999' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('INVALID_PAYMENT');
    const notAnId = await call(base, 'POST', '/payments', { amount_cents: 100, currency: 'EUR', user_id: 'bob' });
    expect(notAnId.status).toBe(400);
    expect(notAnId.json.error.code).toBe('INVALID_PAYMENT');
  });

  it('users-api reads the seeded users and adds new ones', async () => {
    const base = svc['users-api'].url;
    const seeded = await call(base, 'GET', '/users/1');
    expect(seeded.status, seeded.text).toBe(200);
    expect(seeded.json).toMatchObject({ id: 1, email: 'customer1@example.com', name: 'Customer 1' });
    const made = await call(base, 'POST', '/users', { email: 'new.customer@example.com', name: 'New Customer' });
    expect(made).toMatchObject({ status: 201, json: { id: 201, email: 'new.customer@example.com' } });
    const dup = await call(base, 'POST', '/users', { email: 'customer2@example.com', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.json.error.code).toBe('USER_EXISTS');
  });

  it('notifications-service makes its table in the clone and queues under the clone prefix', async () => {
    const base = svc['notifications-service'].url;
    const sent = await call(base, 'POST', '/notify', { to: 'customer1@example.com', message: 'Your order shipped' });
    expect(sent.status, sent.text).toBe(202);
    expect(sent.json).toMatchObject({
      to: 'customer1@example.com',
      channel: 'email',
      status: 'queued',
      queueLength: 1,
    });
    const list = await call(base, 'GET', '/notifications');
    expect(list).toMatchObject({ status: 200, json: { queued: 1 } });
    expect(list.json.notifications).toHaveLength(1);
  });
});
