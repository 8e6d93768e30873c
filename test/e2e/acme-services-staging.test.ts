import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACME_SERVICES,
  callService,
  installAcmeService,
  startAcmeService,
  stopAcmeServices,
  type AcmeService,
  type RunningService,
} from '../support/acme-services.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// The Acme demo services on a clone of the demo's staging (seeded from examples/acme/seed), with
// the credentials `idp env:connect` hands out: the seeded tables are the services' tables, so
// every endpoint works on the seeded rows and on new ones (a service whose schema disagrees with
// the seed answers 500 here).

const available = await storesAvailable();

describe.runIf(available)('Acme services on a clone of the seeded staging', { timeout: 90_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'idp-acme-staging-'));
  const svc = {} as Record<AcmeService, RunningService>;
  let fx: EnvFixture;
  let server: TestServer;
  let variables: Record<string, string>;

  beforeAll(async () => {
    fx = envFixture();
    const install = async (name: AcmeService) => (await installAcmeService(workDir, name)).dir;
    const clone = async () => {
      server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
      const t = await userTokens(server, ['alice']);
      const name = fx.envName('acme-svc');
      const created = await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'staging', ttl: '1d' });
      expect(created.status, created.text).toBe(202);
      await waitForEnvironment(server, t.alice!, name, ['ready'], { failOn: ['failed'] });
      const conn = await api(server, t.alice!, 'POST', `/api/environments/${name}/connect`);
      expect(conn.status, conn.text).toBe(200);
      variables = conn.json.variables;
    };
    const [dirs] = await Promise.all([Promise.all(ACME_SERVICES.map(install)), clone()]);
    await Promise.all(
      ACME_SERVICES.map(async (name, i) => {
        svc[name] = await startAcmeService(
          dirs[i]!,
          {
            DATABASE_URL: variables.DATABASE_URL!,
            REDIS_URL: variables.REDIS_URL!,
            REDIS_KEY_PREFIX: variables.REDIS_KEY_PREFIX!,
          },
          { ok: true, timeout: 15_000 },
        );
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await stopAcmeServices();
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('payments-api lists the seeded payments and takes new ones', async () => {
    const base = svc['payments-api'].url;
    const list = await callService(base, 'GET', '/payments?limit=2');
    expect(list.status, list.text).toBe(200);
    expect(list.json.count).toBe(1000);
    expect(list.json.payments[0]).toMatchObject({ id: 1000, user_id: '1', description: 'order 1000' });

    const seeded = await callService(base, 'GET', '/payments/17');
    expect(seeded).toMatchObject({ status: 200, json: { id: 17, user_id: '18', status: 'refunded' } });

    const made = await callService(base, 'POST', '/payments', {
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
    expect((await callService(base, 'GET', '/payments/1001')).json).toEqual(made.json);
    const guest = await callService(base, 'POST', '/payments', { amount_cents: 990, currency: 'USD' });
    expect(guest).toMatchObject({ status: 201, json: { user_id: null, description: null } });
    expect((await callService(base, 'GET', '/payments')).json.count).toBe(1002);

    // The seed's foreign key holds: a payment names an existing user, or is refused with a 400 (not a 500).
    const unknown = await callService(base, 'POST', '/payments', {
      amount_cents: 100,
      currency: 'EUR',
      user_id: '999999',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('INVALID_PAYMENT');
    const notAnId = await callService(base, 'POST', '/payments', {
      amount_cents: 100,
      currency: 'EUR',
      user_id: 'bob',
    });
    expect(notAnId.status).toBe(400);
    expect(notAnId.json.error.code).toBe('INVALID_PAYMENT');
  });

  it('users-api reads the seeded users and adds new ones', async () => {
    const base = svc['users-api'].url;
    const seeded = await callService(base, 'GET', '/users/1');
    expect(seeded.status, seeded.text).toBe(200);
    expect(seeded.json).toMatchObject({ id: 1, email: 'customer1@example.com', name: 'Customer 1' });
    const made = await callService(base, 'POST', '/users', { email: 'new.customer@example.com', name: 'New Customer' });
    expect(made).toMatchObject({ status: 201, json: { id: 201, email: 'new.customer@example.com' } });
    const dup = await callService(base, 'POST', '/users', { email: 'customer2@example.com', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.json.error.code).toBe('USER_EXISTS');
  });

  it('notifications-service makes its table in the clone and queues under the clone prefix', async () => {
    const base = svc['notifications-service'].url;
    const sent = await callService(base, 'POST', '/notify', {
      to: 'customer1@example.com',
      message: 'Your order shipped',
    });
    expect(sent.status, sent.text).toBe(202);
    expect(sent.json).toMatchObject({
      to: 'customer1@example.com',
      channel: 'email',
      status: 'queued',
      queueLength: 1,
    });
    const list = await callService(base, 'GET', '/notifications');
    expect(list).toMatchObject({ status: 200, json: { queued: 1 } });
    expect(list.json.notifications).toHaveLength(1);
  });
});
