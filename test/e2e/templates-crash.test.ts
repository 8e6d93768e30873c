import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';
import { api, exited, startServerProcess } from '../support/server.ts';
import { HoldServer, waitForTask, writeTemplate } from '../support/templates.ts';

// A real `idp server` process is SIGKILLed while a task's step is running (catalog:register
// reading a URL the test holds), then started again on the same data dir: the task resumes at
// that step (run a second time), keeps the steps it had finished, and completes.

const ADMIN = 'templates-crash-admin-token-0123456789abcdef';
type Proc = Awaited<ReturnType<typeof startServerProcess>>;
const stores = ['sqlite', ...((await postgresAvailable()) ? ['postgres'] : [])];

describe.each(stores)('a task survives a SIGKILL of the control plane (state store: %s)', (store) => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-templates-crash-'));
  const dataDir = join(dir, 'data');
  const hold = new HoldServer();
  const config = acmeConfigAllowing(`templates-crash-${store}`, ['127.0.0.1']);
  let server: Proc | null = null;
  let alice = '';
  let db: Awaited<ReturnType<typeof createTempDatabase>> | undefined;

  const start = async () => {
    server = await startServerProcess(['--data-dir', dataDir, '--config', config], {
      IDP_ADMIN_TOKEN: ADMIN,
      IDP_LOG_LEVEL: 'warn',
      ...(db ? { IDP_DATABASE_URL: db.url } : {}),
    });
    return server;
  };

  beforeAll(async () => {
    const holdUrl = await hold.start();
    if (store === 'postgres') db = await createTempDatabase('idp_tasks_crash');
    writeTemplate(join(dir, 'held'), 'held', { holdUrl: `${holdUrl}/catalog-info.yaml` });
    await start();
    const reg = await api(server!, ADMIN, 'POST', '/api/catalog/idp/locations', {
      target: join(dir, 'held', 'template.yaml'),
    });
    expect(reg.status, reg.text).toBe(201);
    const tok = await api(server!, ADMIN, 'POST', '/api/tokens', { user: 'alice@company.com', ttl: '1d' });
    alice = tok.json.token;
  }, 120_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
    await hold.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('killed mid-step: the restart runs that step again and the task completes', async () => {
    const created = await api(server!, alice, 'POST', '/api/templates/held/tasks', {
      values: { name: 'crashy', token: 'crash-secret-4321' },
    });
    expect(created.status, created.text).toBe(202);
    await hold.waitHeld();
    const before = (await api(server!, alice, 'GET', `/api/tasks/${created.json.id}`)).json;
    expect(before.steps.map((s: any) => s.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'skipped',
      'running',
    ]);

    server!.child.kill('SIGKILL');
    await exited(server!.child);
    expect(server!.child.signalCode).toBe('SIGKILL');
    const heldBefore = hold.requests;

    await start();
    await waitForTask(server!, alice, created.json.id, ['processing']);
    // The resumed step asks again: the test answers it now.
    await hold.waitHeld(heldBefore);
    hold.release();
    const task = await waitForTask(server!, alice, created.json.id, ['completed', 'failed']);
    expect(task.status, JSON.stringify(task)).toBe('completed');
    expect(task.steps.map((s: any) => [s.id, s.status, s.attempts])).toEqual([
      ['hello', 'completed', 1],
      ['fetch', 'completed', 1],
      ['items', 'completed', 1],
      ['fancy', 'skipped', 0],
      ['register', 'completed', 2],
    ]);
    expect(task.steps[4].output.entityRef).toBe('component:default/held-component');
    const logs = (await api(server!, alice, 'GET', `/api/tasks/${task.id}/logs`)).json.items;
    const seqs = logs.map((l: any) => l.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(logs.map((l: any) => l.message)).toContain(
      'resumed after a restart of the control plane: from the first step not completed',
    );
    const entity = await api(server!, alice, 'GET', '/api/catalog/entities/by-name/component/default/held-component');
    expect(entity.status).toBe(200);
  }, 180_000);
});
