import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { HoldServer, waitForTask, writeSkeleton, writeTemplate } from '../support/templates.ts';
import { userTokens } from '../support/tokens.ts';
import { waitUntil } from '../support/wait.ts';

// Templates registered from a file location, run through the HTTP API against a real control
// plane: validation, a dry run, a task with debug:log, fetch:template, each and if, its log and
// output; a failing step retried from where it failed; cancel; others' tasks hidden.

const SECRET = 'tok-s3cr3t-value-9f8e7d';
const stores = ['sqlite', ...((await postgresAvailable()) ? ['postgres'] : [])];

describe.each(stores)('templates and tasks through the API (state store: %s)', (store) => {
  let server: TestServer;
  let db: Awaited<ReturnType<typeof createTempDatabase>> | undefined;
  let t: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'idp-templates-e2e-'));
  const hold = new HoldServer();

  const call = (who: string, method: string, path: string, body?: unknown) => api(server, t[who]!, method, path, body);
  const run = (who: string, name: string, values: Record<string, unknown>, dryRun = false) =>
    call(who, 'POST', `/api/templates/${name}/tasks`, { values, dryRun });

  beforeAll(async () => {
    const holdUrl = await hold.start();
    if (store === 'postgres') db = await createTempDatabase('idp_templates');
    server = await startTestServer({
      ...(db ? { databaseUrl: db.url } : {}),
      catalogTimer: false,
      environmentTimers: false,
      configPath: acmeConfigAllowing(`templates-e2e-${store}`, ['127.0.0.1']),
    });
    t = await userTokens(server, ['alice', 'bob', 'frank']);
    writeTemplate(join(dir, 'hello'), 'hello');
    writeTemplate(join(dir, 'later'), 'later', { skeleton: false });
    writeTemplate(join(dir, 'held'), 'held', { holdUrl: `${holdUrl}/catalog-info.yaml` });
    // Steps naming an action idp does not have, or a SaaS publisher it is not set up for.
    for (const [name, action] of [
      ['unknown', 'acme:frobnicate'],
      ['github', 'publish:github'],
    ]) {
      const file = writeTemplate(join(dir, name!), name!);
      writeFileSync(file, readFileSync(file, 'utf8').replace('action: debug:log', `action: ${action}`));
    }
    for (const name of ['hello', 'later', 'held', 'unknown', 'github']) {
      const res = await api(server, server.adminToken, 'POST', '/api/catalog/idp/locations', {
        target: join(dir, name, 'template.yaml'),
      });
      expect(res.status, res.text).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await hold.stop();
    await server?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists templates and shows one with its parameters and steps', async () => {
    const list = await call('alice', 'GET', '/api/templates');
    expect(list.status).toBe(200);
    expect(list.json.items.map((i: any) => i.name)).toEqual(expect.arrayContaining(['hello', 'later', 'held']));
    const hello = await call('alice', 'GET', '/api/templates/hello');
    expect(hello.json).toMatchObject({
      ref: 'template:default/hello',
      owner: 'group:default/platform',
      type: 'service',
      tags: ['test'],
    });
    expect(hello.json.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'name', page: 1, required: true, pattern: '^[a-z][a-z0-9-]*$' }),
        expect.objectContaining({ name: 'flavour', page: 2, required: false, default: 'plain' }),
      ]),
    );
    expect(hello.json.steps.map((s: any) => s.id)).toEqual(['hello', 'fetch', 'items', 'fancy']);
    expect(hello.json.pages[0].properties.token['ui:field']).toBe('Secret');
    expect((await call('alice', 'GET', '/api/templates/nope')).json.error.code).toBe('TEMPLATE_NOT_FOUND');
  });

  it('refuses invalid values with every problem and its JSON path, and creates no task', async () => {
    const res = await run('alice', 'hello', { name: 'Not Valid', replicas: 'many', flavour: 'odd' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('TEMPLATE_PARAMETERS_INVALID');
    const paths = res.json.error.details.problems.map((p: any) => p.path).sort();
    expect(paths).toEqual(['/flavour', '/name', '/replicas', '/token']);
    expect((await call('alice', 'GET', '/api/tasks')).json.items).toEqual([]);
  });

  it('an unknown action is refused before a task exists; a SaaS publisher fails its step as not configured', async () => {
    const unknown = await run('alice', 'unknown', { name: 'x', token: SECRET });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.code).toBe('TEMPLATE_ACTION_UNKNOWN');
    expect(unknown.json.error.message).toContain('hello');
    expect((await call('alice', 'GET', '/api/tasks')).json.items).toEqual([]);
    const github = await run('alice', 'github', { name: 'x', token: SECRET });
    expect(github.status).toBe(202);
    const failed = await waitForTask(server, t.alice!, github.json.id, ['failed', 'completed']);
    expect(failed.error).toMatchObject({ code: 'TEMPLATE_ACTION_NOT_CONFIGURED', step: 'hello' });
    expect(failed.error.message).toContain('GitHub');
  });

  it('dry-runs: the files the steps would write (binary as base64), the log, the output; nothing stored', async () => {
    const res = await run('alice', 'hello', { name: 'demo', token: SECRET }, true);
    expect(res.status, res.text).toBe(200);
    const files = Object.fromEntries(res.json.files.map((f: any) => [f.path, f]));
    expect(Object.keys(files).sort()).toEqual(['README.md', 'demo/index.js', 'logo.bin']);
    expect(files['README.md'].content).toBe('# demo\n\nReplicas: 2\n');
    expect(files['logo.bin']).toMatchObject({
      base64: true,
      content: Buffer.from([0xff, 0xfe, 0, 0x80]).toString('base64'),
    });
    expect(res.json.steps.map((s: any) => s.status)).toEqual(['completed', 'completed', 'completed', 'skipped']);
    expect(res.json.output.links[0].url).toBe('https://git.example.com/demo');
    expect(res.text).not.toContain(SECRET);
    expect((await call('alice', 'GET', '/api/tasks')).json.items.length).toBe(1);
    // Its scratch workspace is gone; one a stopped process left behind is swept.
    const root = join(server.dataDir, 'tasks');
    expect(readdirSync(root).filter((n) => n.startsWith('dryrun_'))).toEqual([]);
    mkdirSync(join(root, 'dryrun_left'), { recursive: true });
    await server.services.templates.sweepWorkspaces();
    expect(existsSync(join(root, 'dryrun_left'))).toBe(false);
  });

  it('runs a task: steps in order, each and if, outputs, log and links; secrets never shown', async () => {
    const created = await run('alice', 'hello', { name: 'svc-one', token: SECRET });
    expect(created.status, created.text).toBe(202);
    expect(created.json.values).toEqual({ name: 'svc-one', token: '***', replicas: 2, flavour: 'plain' });
    const task = await waitForTask(server, t.alice!, created.json.id, ['completed', 'failed']);
    expect(task.status, JSON.stringify(task)).toBe('completed');
    expect(task.steps.map((s: any) => [s.id, s.status, s.attempts])).toEqual([
      ['hello', 'completed', 1],
      ['fetch', 'completed', 1],
      ['items', 'completed', 1],
      ['fancy', 'skipped', 0],
    ]);
    expect(task.output).toEqual({
      links: [{ title: 'Repository', url: 'https://git.example.com/svc-one', entityRef: null, icon: null }],
      text: [{ title: 'Done', content: 'made svc-one' }],
    });
    const logs = await call('alice', 'GET', `/api/tasks/${task.id}/logs`);
    const messages = logs.json.items.map((l: any) => l.message);
    expect(messages).toEqual(
      expect.arrayContaining(['hello svc-one with ***', 'item a of svc-one', 'item b of svc-one']),
    );
    expect(logs.text).not.toContain(SECRET);
    expect(JSON.stringify(task)).not.toContain(SECRET);
    const seqs = logs.json.items.map((l: any) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => a - b));
    const after = await call('alice', 'GET', `/api/tasks/${task.id}/logs?after=${seqs[2]}`);
    expect(after.json.items[0].seq).toBe(seqs[3]);

    // follow=true on a finished task: its lines, then the task event.
    const sse = await fetch(`${server.url}/api/tasks/${task.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${t.alice}` },
    });
    const text = await sse.text();
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    expect(text.match(/^data: /gm)!.length).toBe(seqs.length + 1);
    expect(text).toContain('event: task\ndata: {"id":"' + task.id);

    const audit = await api(server, server.adminToken, 'GET', `/api/audit?action=task:create&limit=50`);
    expect(audit.text).toContain(task.id);
    expect(audit.text).not.toContain(SECRET);
  });

  it('a failing step fails the task; retry runs from that step without redoing the finished ones', async () => {
    const created = await run('alice', 'later', { name: 'svc-two', token: SECRET });
    const failed = await waitForTask(server, t.alice!, created.json.id, ['completed', 'failed']);
    expect(failed.status).toBe('failed');
    // Kept for the retry.
    expect(existsSync(join(server.dataDir, 'tasks', failed.id))).toBe(true);
    expect(failed.error).toMatchObject({ step: 'fetch' });
    expect(failed.steps.map((s: any) => s.status)).toEqual(['completed', 'failed', 'pending', 'pending']);
    expect((await call('alice', 'POST', `/api/tasks/${failed.id}/cancel`)).json.error.code).toBe('TASK_NOT_RETRYABLE');

    writeSkeleton(join(dir, 'later'));
    const retried = await call('alice', 'POST', `/api/tasks/${failed.id}/retry`);
    expect(retried.status, retried.text).toBe(202);
    const done = await waitForTask(server, t.alice!, failed.id, ['completed', 'failed']);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    // Removed once completed (right after the status is written).
    await waitUntil('the workspace removed', () => !existsSync(join(server.dataDir, 'tasks', failed.id)));
    expect(done.steps.map((s: any) => [s.id, s.attempts])).toEqual([
      ['hello', 1],
      ['fetch', 2],
      ['items', 1],
      ['fancy', 0],
    ]);
    expect((await call('alice', 'POST', `/api/tasks/${failed.id}/retry`)).json.error.code).toBe('TASK_NOT_RETRYABLE');
  });

  it('follows a running task: lines as they are written, then the task, then the stream ends', async () => {
    hold.hold();
    const created = await run('alice', 'held', { name: 'svc-live', token: SECRET });
    await hold.waitHeld();
    const res = await fetch(`${server.url}/api/tasks/${created.json.id}/logs?follow=true&after=1`, {
      headers: { authorization: `Bearer ${t.alice}` },
    });
    const reader = res.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('catalog:register started')) text += decoder.decode((await reader.read()).value);
    expect(text).not.toContain('"seq":1,');
    hold.release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
    const events = text.split('\n\n').filter((e) => e.startsWith('data: ') || e.startsWith('event: '));
    const last = events.at(-1)!;
    expect(last.startsWith('event: task\ndata: ')).toBe(true);
    expect(JSON.parse(last.slice('event: task\ndata: '.length))).toMatchObject({
      id: created.json.id,
      status: 'completed',
    });
    const seqs = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)).seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 2));
    expect(text).not.toContain(SECRET);
  });

  it('cancels a running task: the running step and those after it are cancelled', async () => {
    hold.hold();
    const created = await run('alice', 'held', { name: 'svc-three', token: SECRET });
    await hold.waitHeld();
    const cancelling = call('alice', 'POST', `/api/tasks/${created.json.id}/cancel`);
    hold.release();
    expect((await cancelling).status).toBe(202);
    const task = await waitForTask(server, t.alice!, created.json.id, ['cancelled', 'completed', 'failed']);
    expect(task.status).toBe('cancelled');
    expect(task.steps.find((s: any) => s.id === 'register').status).toBe('cancelled');
    // Cancelled: may be retried, and then finishes.
    expect((await call('alice', 'POST', `/api/tasks/${task.id}/retry`)).status).toBe(202);
    const again = await waitForTask(server, t.alice!, task.id, ['completed', 'failed']);
    expect(again.status, JSON.stringify(again)).toBe('completed');
    expect(again.steps.find((s: any) => s.id === 'register').output.entityRef).toBe('component:default/held-component');
  });

  it('runs at most 8 tasks at once: the next waits open, and cancelling it while it waits is immediate', async () => {
    hold.hold();
    const before = hold.requests;
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await run('bob', 'held', { name: `q${i}`, token: SECRET })).json.id);
    await waitUntil('8 held requests', () => hold.requests - before === 8);
    const waiting = (await call('bob', 'GET', `/api/tasks/${ids[8]}`)).json;
    expect(waiting.status).toBe('open');
    expect(waiting.steps.every((s: any) => s.status === 'pending')).toBe(true);
    const cancelled = await call('bob', 'POST', `/api/tasks/${ids[8]}/cancel`);
    expect(cancelled.json.status).toBe('cancelled');
    expect(cancelled.json.steps.every((s: any) => s.status === 'cancelled')).toBe(true);
    hold.release();
    for (const id of ids.slice(0, 8))
      expect((await waitForTask(server, t.bob!, id, ['completed', 'failed'])).status).toBe('completed');
    expect(hold.requests - before).toBe(8);
  });

  it("others' tasks are not found; an admin reads them with createdBy=all", async () => {
    const mine = (await call('alice', 'GET', '/api/tasks')).json.items;
    expect(mine.length).toBe(5);
    const id = mine[0].id;
    for (const [method, path] of [
      ['GET', `/api/tasks/${id}`],
      ['GET', `/api/tasks/${id}/logs`],
      ['POST', `/api/tasks/${id}/retry`],
      ['POST', `/api/tasks/${id}/cancel`],
    ] as const) {
      const res = await call('bob', method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('TASK_NOT_FOUND');
    }
    const bobs = (await call('bob', 'GET', '/api/tasks?createdBy=all')).json.items;
    expect(bobs.length).toBe(9);
    expect(bobs.every((i: any) => i.createdBy === 'user:default/bob')).toBe(true);
    const all = await call('frank', 'GET', '/api/tasks?createdBy=all');
    expect(all.json.items.map((i: any) => i.id)).toEqual(expect.arrayContaining(mine.map((i: any) => i.id)));
    expect((await call('frank', 'GET', `/api/tasks/${id}`)).status).toBe(200);
  });
});
