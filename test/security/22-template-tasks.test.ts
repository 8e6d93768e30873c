import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, api, startTestServer, type TestServer } from '../support/server.ts';
import { waitForTask, writeTemplate } from '../support/templates.ts';
import { userTokens } from '../support/tokens.ts';

// Golden-path tasks as an attacker sees them. Bob tries to read, follow, retry and cancel alice's
// task and to list it (404 / nothing, like a task that does not exist). Alice runs a template a
// policy keeps to its owner team (403, and the denial is in the audit log before anything ran).
// A secret parameter (ui:field: Secret) is sent through a step's log, a step's error and the
// output: it never comes back from the API (task, list, logs, follow, dry run), never reaches the
// audit log, and is not in the state store's files in plaintext.

const SECRET = 'pa55-Secret-Zq81xK';

describe('template tasks: others cannot see or steer them; run policy audited; secrets stay secret', () => {
  let server: TestServer;
  let t: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'idp-sec-templates-'));
  const dataDir = join(dir, 'data');

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'restricted.cedar'),
      `@id("restricted-templates-owner-only")
forbid (principal, action == Action::"template:run", resource is Template)
when { resource.tags.contains("restricted") && !(resource has owner && principal in resource.owner) };
`,
    );
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['policies', 'paths'], [join(dir, 'restricted.cedar')]);
    const config = join(dirname(ACME_CONFIG), 'idp.sec-templates.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startTestServer({ catalogTimer: false, environmentTimers: false, configPath: config, dataDir });
    t = await userTokens(server, ['alice', 'bob', 'frank']);
    writeTemplate(join(dir, 'open'), 'open-path');
    writeTemplate(join(dir, 'restricted'), 'restricted-path', {
      tags: ['restricted'],
      owner: 'group:default/platform',
    });
    // A template whose second step fails with the secret in the path it names.
    writeTemplate(join(dir, 'leaky'), 'leaky-path');
    const leaky = join(dir, 'leaky', 'template.yaml');
    writeFileSync(
      leaky,
      readFileSync(leaky, 'utf8').replace('url: ./skeleton', 'url: ./missing-${{ parameters.token }}'),
    );
    for (const name of ['open', 'restricted', 'leaky']) {
      const res = await api(server, server.adminToken, 'POST', '/api/catalog/idp/locations', {
        target: join(dir, name, 'template.yaml'),
      });
      expect(res.status, res.text).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (who: string, method: string, path: string, body?: unknown) =>
    api(server, who === 'admin' ? server.adminToken : t[who]!, method, path, body);

  it("bob cannot read, follow, retry, cancel or list alice's task", async () => {
    const created = await call('alice', 'POST', '/api/templates/open-path/tasks', {
      values: { name: 'mine', token: SECRET },
    });
    expect(created.status, created.text).toBe(202);
    const id = created.json.id;
    await waitForTask(server, t.alice!, id, ['completed']);
    for (const [method, path] of [
      ['GET', `/api/tasks/${id}`],
      ['GET', `/api/tasks/${id}/logs`],
      ['GET', `/api/tasks/${id}/logs?follow=true`],
      ['POST', `/api/tasks/${id}/retry`],
      ['POST', `/api/tasks/${id}/cancel`],
    ] as const) {
      const res = await call('bob', method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('TASK_NOT_FOUND');
      // The same answer as for a task that does not exist.
      const none = await call('bob', method, path.replace(id, 'task_doesnotexist'));
      expect(none.json.error.code).toBe('TASK_NOT_FOUND');
    }
    expect((await call('bob', 'GET', '/api/tasks?createdBy=all')).json.items).toEqual([]);
    expect((await call('bob', 'GET', '/api/tasks')).json.items).toEqual([]);
    // Completed: nothing can run it again, so its secret values are not kept, even encrypted.
    const stored = await server.services.store.db
      .selectFrom('tasks')
      .select('secrets')
      .where('id', '=', id)
      .executeTakeFirst();
    expect(stored!.secrets).toBeNull();
    // alice's task is untouched by bob's attempts.
    expect((await call('alice', 'GET', `/api/tasks/${id}`)).json.status).toBe('completed');
    expect((await call('admin', 'GET', '/api/audit?action=task:retry')).json.items).toEqual([]);
    expect((await call('admin', 'GET', '/api/audit?action=task:cancel')).json.items).toEqual([]);
  });

  it('template:run denied by a policy: 403 before anything runs, and audited', async () => {
    const res = await call('alice', 'POST', '/api/templates/restricted-path/tasks', {
      values: { name: 'nope', token: SECRET },
    });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('POLICY_DENIED');
    expect(res.json.error.details.forbiddenBy).toEqual([expect.stringContaining('restricted-templates-owner-only')]);
    // The hint's policy:check asks the same question and gets the same answer.
    expect(res.json.error.details.hint).toContain('idp policy:check');
    const check = await call('admin', 'POST', '/api/policy/check', {
      principal: 'alice',
      action: 'template:run',
      resource: 'template:restricted-path',
    });
    expect(check.json).toMatchObject({ decision: 'deny', forbiddenBy: [expect.stringContaining('owner-only')] });
    const frankCheck = await call('admin', 'POST', '/api/policy/check', {
      principal: 'frank',
      action: 'template:run',
      resource: 'template:restricted-path',
    });
    expect(frankCheck.json.decision, frankCheck.text).toBe('allow');
    // Dry runs are decided the same way.
    const dry = await call('alice', 'POST', '/api/templates/restricted-path/tasks', {
      values: { name: 'nope', token: SECRET },
      dryRun: true,
    });
    expect(dry.status).toBe(403);
    const audit = (await call('admin', 'GET', '/api/audit?action=template:run&decision=deny')).json.items;
    expect(audit.length).toBe(2);
    expect(audit[0]).toMatchObject({
      actor: 'user:default/alice',
      target: 'template:restricted-path',
      decision: 'deny',
    });
    expect((await call('alice', 'GET', '/api/tasks')).json.items.map((i: any) => i.template)).not.toContain(
      'template:default/restricted-path',
    );
    // The owner team may.
    const frank = await call('frank', 'POST', '/api/templates/restricted-path/tasks', {
      values: { name: 'yes', token: SECRET },
    });
    expect(frank.status, frank.text).toBe(202);
    await waitForTask(server, t.frank!, frank.json.id, ['completed']);
  });

  it('a secret parameter never comes back: task, list, logs, follow, error, dry run, audit, store files', async () => {
    const created = await call('alice', 'POST', '/api/templates/leaky-path/tasks', {
      values: { name: 'leaky', token: SECRET },
    });
    expect(created.status, created.text).toBe(202);
    const task = await waitForTask(server, t.alice!, created.json.id, ['failed']);
    expect(task.values.token).toBe('***');
    expect(task.error.step).toBe('fetch');
    expect(task.error.message).toContain('***');
    const seen: string[] = [JSON.stringify(task), created.text];
    seen.push((await call('alice', 'GET', '/api/tasks?createdBy=all')).text);
    const logs = await call('alice', 'GET', `/api/tasks/${task.id}/logs`);
    expect(logs.json.items.map((l: any) => l.message)).toContain('hello leaky with ***');
    seen.push(logs.text);
    const follow = await fetch(`${server.url}/api/tasks/${task.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${t.alice}` },
    });
    seen.push(await follow.text());
    seen.push(
      (
        await call('alice', 'POST', '/api/templates/open-path/tasks', {
          values: { name: 'dry', token: SECRET },
          dryRun: true,
        })
      ).text,
    );
    seen.push((await call('admin', 'GET', '/api/audit?limit=1000')).text);
    for (const text of seen) expect(text).not.toContain(SECRET);

    // Retried with the secret still known to the task (stored encrypted): the same failure, redacted.
    // Failed: kept (encrypted) for a retry.
    const sealed = await server.services.store.db
      .selectFrom('tasks')
      .select('secrets')
      .where('id', '=', task.id)
      .executeTakeFirst();
    expect(sealed!.secrets).toMatch(/ciphertext/);
    const retried = await call('alice', 'POST', `/api/tasks/${task.id}/retry`);
    expect(retried.status).toBe(202);
    const again = await waitForTask(server, t.alice!, task.id, ['failed']);
    expect(again.steps[1].attempts).toBe(2);
    expect(JSON.stringify(again)).not.toContain(SECRET);

    await server.services.templates.idle();
    for (const file of ['idp.sqlite', 'idp.sqlite-wal']) {
      const path = join(dataDir, file);
      if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(SECRET)), file).toBe(false);
    }
  });
});
