import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ACME_CONFIG, runCli, startTestServer, type CliResult, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';

// The golden-path commands through the real `idp` bin against a real control plane: a small
// template registered from a catalog location in a temp folder (debug:log, fetch:template of a
// skeleton beside it, a step skipped by its `if`, a fetch:plain that fails until its folder
// exists), run with --set and --values; the failure names the step and the retry; task:retry
// redoes only that step; --dry-run lists the files it would write; --no-wait, task:logs --follow,
// task:get, task:list; a publish:git to a remote that never answers, cancelled with task:cancel.

const TEMPLATE = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello-service
  title: Hello service
  description: A tiny service skeleton, for the CLI test.
  tags: [test, nodejs]
spec:
  owner: group:default/payments
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name:
          type: string
          description: The service name
          pattern: '^[a-z][a-z0-9-]*$'
        replicas:
          type: integer
          default: 1
        labels:
          type: object
          properties:
            tier: { type: string, enum: [gold, bronze] }
    - title: Options
      properties:
        docs:
          type: boolean
          default: false
          description: Add the docs folder
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input:
        message: 'Creating \${{ parameters.name }} with \${{ parameters.replicas }} replicas (tier \${{ parameters.labels.tier if parameters.labels else "none" }})'
    - id: fetch
      name: Fetch skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: \${{ parameters.name }}
    - id: docs
      if: \${{ parameters.docs }}
      action: fetch:plain
      input:
        url: ./docs
        targetPath: docs
    - id: extra
      name: Extra files
      action: fetch:plain
      input:
        url: ./extra
        targetPath: extra
  output:
    links:
      - title: Catalog
        entityRef: component:default/\${{ parameters.name }}
    text:
      - title: Next
        content: 'Run it: cd \${{ parameters.name }}'
`;

const SLOW_TEMPLATE = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow-publish
  title: Publish to a remote that never answers
spec:
  owner: group:default/payments
  type: service
  parameters:
    properties:
      remote: { type: string }
  steps:
    - id: publish
      action: publish:git
      input:
        remoteUrl: \${{ parameters.remote }}
`;

let server: TestServer;
let env: Record<string, string>;
let dir: string;
let hang: Server;
const held = new Set<Socket>();
let connections = 0;
let hangUrl: string;
const idp = (...args: string[]) => runCli(args, env);

function code(result: CliResult, expected: number): CliResult {
  expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(expected);
  return result;
}
const json = (result: CliResult) => JSON.parse(code(result, 0).stdout);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idp-templates-cli-'));
  mkdirSync(join(dir, 'hello/skeleton'), { recursive: true });
  writeFileSync(join(dir, 'hello/template.yaml'), TEMPLATE);
  writeFileSync(join(dir, 'hello/skeleton/README.md'), '# ${{ values.name }}\n');
  writeFileSync(join(dir, 'hello/skeleton/package.json'), '{ "name": "${{ values.name }}" }\n');
  mkdirSync(join(dir, 'slow'));
  writeFileSync(join(dir, 'slow/template.yaml'), SLOW_TEMPLATE);

  // A git remote that accepts the connection and never answers: publish:git waits on it until cancelled.
  hang = createServer((socket) => {
    held.add(socket);
    connections++;
    socket.on('close', () => held.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  const port = (hang.address() as { port: number }).port;
  hangUrl = `http://127.0.0.1:${port}/hang/`;
  const config = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  config.setIn(['templates', 'publish', 'git', 'allowedRemotes'], [hangUrl]);
  const configPath = join(dir, 'idp.config.yaml');
  writeFileSync(configPath, config.toString());

  server = await startTestServer({ configPath });
  env = { IDP_URL: server.url, IDP_TOKEN: server.adminToken };
  for (const file of ['hello/template.yaml', 'slow/template.yaml'])
    code(await idp('catalog:register', join(dir, file)), 0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => (hang ? hang.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('idp template and task commands', { timeout: 120_000 }, () => {
  it('lists the templates and shows one with its parameters (required ones marked) and steps', async () => {
    const [list, listJson, get, getJson, missing] = await Promise.all([
      idp('template:list'),
      idp('template:list', '-o', 'json'),
      idp('template:get', 'hello-service'),
      idp('template:get', 'hello-service', '-o', 'json'),
      idp('template:get', 'no-such-template'),
    ]);
    code(list, 0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+TITLE\s+TYPE\s+OWNER\s+TAGS$/);
    expect(list.stdout).toMatch(/^hello-service\s+Hello service\s+service\s+payments\s+test, nodejs$/m);
    expect(json(listJson).items.map((t: any) => t.name)).toEqual(
      expect.arrayContaining(['hello-service', 'slow-publish']),
    );

    code(get, 0);
    expect(get.stdout).toContain('A tiny service skeleton, for the CLI test.');
    expect(get.stdout).toMatch(/^ {2}NAME\s+TYPE\s+REQUIRED\s+DEFAULT\s+DESCRIPTION\s+PAGE$/m);
    expect(get.stdout).toMatch(
      /^ {2}name\s+string\s+\*\s+-\s+The service name \(pattern: \^\[a-z\]\[a-z0-9-\]\*\$\)\s+1$/m,
    );
    expect(get.stdout).toMatch(/^ {2}replicas\s+integer\s+-\s+1\s+-\s+1$/m);
    expect(get.stdout).toMatch(/^ {2}docs\s+boolean\s+-\s+false\s+Add the docs folder\s+2$/m);
    expect(get.stdout).toMatch(/^ {2}1\s+hello\s+debug:log\s+Say hello$/m);
    expect(get.stdout).toMatch(/^ {2}4\s+extra\s+fetch:plain\s+Extra files$/m);
    expect(get.stdout).toMatch(/^Run it: idp create hello-service --set name=…$/m);
    const detail = json(getJson);
    expect(detail.parameters.find((p: any) => p.name === 'name')).toMatchObject({ required: true, page: 1 });

    code(missing, 4);
    expect(missing.stderr).toMatch(/^Error \[TEMPLATE_NOT_FOUND\]: /m);
  });

  it('refuses bad values with every problem and its path, before anything runs', async () => {
    const [bad, badJson, badSet] = await Promise.all([
      idp(
        'create',
        'hello-service',
        '--set',
        'name=Not_A_Name',
        '--set',
        'replicas=many',
        '--set',
        'labels.tier=silver',
      ),
      idp('create', 'hello-service', '--set', 'replicas=2', '-o', 'json'),
      idp('create', 'hello-service', '--set', 'name'),
    ]);
    code(bad, 2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(
      /^Error \[TEMPLATE_PARAMETERS_INVALID\]: the values do not fit the parameters of hello-service \(3 problems\):$/m,
    );
    expect(bad.stderr).toMatch(/^ {2}- \S*name: must match .*\^\[a-z\]\[a-z0-9-\]\*\$$/m);
    expect(bad.stderr).toMatch(/^ {2}- \S*replicas: must be integer/m);
    expect(bad.stderr).toMatch(/^ {2}- \S*labels\S*tier: .*gold.*bronze/m);
    expect(bad.stderr).toMatch(/^Try this: Run `idp template:get`/m);

    code(badJson, 2);
    const envelope = JSON.parse(badJson.stderr);
    expect(envelope.error.code).toBe('TEMPLATE_PARAMETERS_INVALID');
    expect(envelope.error.details.problems).toEqual([
      { path: expect.stringContaining('name'), message: expect.any(String) },
    ]);

    code(badSet, 2);
    expect(badSet.stderr).toMatch(/^Error \[USAGE\]: --set name: expected key=value$/m);
    expect(json(await idp('task:list', '-o', 'json')).items).toEqual([]);
  });

  it('follows a task live; a failed step names the retry, which redoes only that step; a dry run lists the files', async () => {
    const valuesFile = join(dir, 'values.yaml');
    writeFileSync(valuesFile, 'name: demo-api\nreplicas: 3\nlabels:\n  tier: bronze\n');

    const dryFailed = await idp('create', 'hello-service', '--values', valuesFile, '--dry-run');
    code(dryFailed, 1);
    expect(dryFailed.stderr).toMatch(/^Error \[TEMPLATE_ACTION_FAILED\]: the dry run failed at step extra: /m);

    const failed = await idp('create', 'hello-service', '--values', valuesFile, '--set', 'labels.tier=gold');
    code(failed, 1);
    const id = /^Task (\S+): template:hello-service, 4 steps/m.exec(failed.stderr)?.[1];
    expect(id).toMatch(/^\S+$/);
    const lines = failed.stderr.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    // Each step's start, its lines indented under it, its finish with the time, in order.
    const order = [
      at(/^▸ \[1\/4\] hello: Say hello \(debug:log\)$/),
      at(/^ {4}Creating demo-api with 3 replicas \(tier gold\)$/),
      at(/^✓ hello completed {2}\d+\.\ds$/),
      at(/^▸ \[2\/4\] fetch: Fetch skeleton \(fetch:template\)$/),
      at(/^✓ fetch completed {2}\d+\.\ds$/),
      at(/^- docs skipped/),
      at(/^▸ \[4\/4\] extra: Extra files \(fetch:plain\)$/),
      at(/^✗ extra failed {2}\d+\.\ds {2}TEMPLATE_ACTION_FAILED: /),
      at(/^Error \[TEMPLATE_ACTION_FAILED\]: task \S+ failed at step extra: /),
    ];
    expect(
      order.every((i) => i >= 0),
      failed.stderr,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(failed.stderr).toContain(
      `idp task:retry ${id}\`: it starts again from step extra; finished steps are not redone.`,
    );
    expect(failed.stdout).toBe('');

    const [get, logs, list, failedList] = await Promise.all([
      idp('task:get', id!),
      idp('task:logs', id!),
      idp('task:list'),
      idp('task:list', '--status', 'failed', '-o', 'json'),
    ]);
    code(get, 0);
    expect(get.stdout).toMatch(/^Status:\s+failed$/m);
    expect(get.stdout).toMatch(/^Error:\s+step extra: TEMPLATE_ACTION_FAILED: /m);
    expect(get.stdout).toMatch(/^ {2}STEP\s+ACTION\s+STATUS\s+ATTEMPTS\s+DURATION\s+ERROR$/m);
    expect(get.stdout).toMatch(/^ {2}fetch\s+fetch:template\s+completed\s+1\s+\d+\.\ds\s+-$/m);
    expect(get.stdout).toMatch(/^ {2}docs\s+fetch:plain\s+skipped\s+0\s+-\s+-$/m);
    expect(get.stdout).toMatch(/^ {2}extra\s+fetch:plain\s+failed\s+1\s+\d+\.\ds\s+TEMPLATE_ACTION_FAILED: /m);
    code(logs, 0);
    expect(logs.stdout).toMatch(/^\S+Z hello INFO {2}Creating demo-api with 3 replicas \(tier gold\)$/m);
    expect(logs.stdout).toMatch(/^\S+Z extra ERROR /m);
    code(list, 0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+template:hello-service\\s+failed\\s+extra\\s+idp-admin\\s`, 'm'));
    expect(json(failedList).items.map((t: any) => t.id)).toEqual([id]);

    // The cause fixed, the retry runs from the failed step: hello and fetch are not run again.
    mkdirSync(join(dir, 'hello/extra'));
    writeFileSync(join(dir, 'hello/extra/notes.txt'), 'remember the milk\n');
    const retried = await idp('task:retry', id!);
    code(retried, 0);
    expect(retried.stderr).toMatch(/^✓ hello completed/m);
    expect(retried.stderr).not.toContain('Creating demo-api');
    expect(retried.stderr).not.toMatch(/^▸ \[[12]\/4\]/m);
    expect(retried.stderr).toMatch(/^▸ \[4\/4\] extra: Extra files \(fetch:plain\) \(attempt 2\)$/m);
    expect(retried.stderr).toMatch(/^✓ extra completed/m);
    expect(retried.stderr).toMatch(new RegExp(`^✓ Task ${id} completed in \\d`, 'm'));
    expect(retried.stdout).toBe('Links:\n  Catalog  component:demo-api\n\nNext:\n  Run it: cd demo-api\n');
    const after = json(await idp('task:get', id!, '-o', 'json'));
    expect(after).toMatchObject({
      status: 'completed',
      values: { name: 'demo-api', replicas: 3, labels: { tier: 'gold' } },
    });
    expect(after.steps.map((s: any) => [s.id, s.status, s.attempts])).toEqual([
      ['hello', 'completed', 1],
      ['fetch', 'completed', 1],
      ['docs', 'skipped', 0],
      ['extra', 'completed', 2],
    ]);
    const again = await idp('task:retry', id!);
    code(again, 1);
    expect(again.stderr).toMatch(/^Error \[TASK_NOT_RETRYABLE\]: /m);

    // Now the dry run renders every file it would write, and writes nothing.
    const [dry, dryJson] = await Promise.all([
      idp('create', 'hello-service', '--set', 'name=dry-api', '--dry-run'),
      idp('create', 'hello-service', '--set', 'name=dry-api', '--set', 'docs=false', '--dry-run', '-o', 'json'),
    ]);
    code(dry, 0);
    expect(dry.stdout).toMatch(/^Files it would write \(3\):$/m);
    expect(dry.stdout).toMatch(/^ {2}README\.md\s+10 B$/m);
    expect(dry.stdout).toMatch(/^ {2}package\.json\s+22 B$/m);
    expect(dry.stdout).toMatch(/^ {2}extra\/notes\.txt\s+18 B$/m);
    expect(dry.stdout).toMatch(/^ {2}extra\s+fetch:plain\s+completed\s+1\s/m);
    expect(dry.stderr).toMatch(/^ {4}Creating dry-api with 1 replicas \(tier none\)$/m);
    expect(dry.stderr).toMatch(/^Dry run: nothing was written or published/m);
    const result = json(dryJson);
    expect(result.files).toEqual(
      expect.arrayContaining([
        { path: 'README.md', content: '# dry-api\n', base64: false, executable: false },
        { path: 'package.json', content: '{ "name": "dry-api" }\n', base64: false, executable: false },
      ]),
    );
    expect(result.steps.map((s: any) => s.status)).toEqual(['completed', 'completed', 'skipped', 'completed']);
    expect(json(await idp('task:list', '-o', 'json')).items.map((t: any) => t.id)).toEqual([id]);
  });

  it('--no-wait prints the id; task:logs --follow prints the log until the task ends', async () => {
    const started = await idp('create', 'hello-service', '--set', 'name=bg-api', '--no-wait');
    code(started, 0);
    const id = started.stdout.trim();
    expect(started.stderr).toContain(`follow it with \`idp task:logs ${id} --follow\``);
    const followed = await idp('task:logs', id, '--follow');
    code(followed, 0);
    expect(followed.stdout).toMatch(/^\S+Z hello INFO {2}Creating bg-api with 1 replicas/m);
    expect(followed.stdout).toMatch(/^\S+Z extra INFO {2}fetch:plain: /m);
    expect(followed.stderr).toBe(`Task ${id} completed.\n`);
    const followedJson = await idp('task:logs', id, '--follow', '-o', 'json');
    const entries = code(followedJson, 0)
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    expect(entries[0]).toMatchObject({ step: 'hello', level: 'info' });

    const cancelDone = await idp('task:cancel', id);
    code(cancelDone, 1);
    expect(cancelDone.stderr).toMatch(/^Error \[TASK_NOT_RETRYABLE\]: /m);
    const [unknown, unknownLogs] = await Promise.all([
      idp('task:get', 'task_nope'),
      idp('task:logs', 'task_nope', '--follow'),
    ]);
    code(unknown, 4);
    expect(unknown.stderr).toMatch(/^Error \[TASK_NOT_FOUND\]: /m);
    code(unknownLogs, 4);
  });

  it('cancels a task stuck in a step; a follower ends with it, and a retry followed to a second cancel exits 1', async () => {
    const remote = `${hangUrl}demo.git`;
    const started = await idp('create', 'slow-publish', '--set', `remote=${remote}`, '--no-wait');
    const id = code(started, 0).stdout.trim();
    await waitUntil('publish:git connects to the remote', () => connections >= 1);
    const running = json(await idp('task:get', id, '-o', 'json'));
    expect(running).toMatchObject({ status: 'processing', steps: [{ id: 'publish', status: 'running' }] });

    const follower = idp('task:logs', id, '--follow');
    const cancelled = await idp('task:cancel', id);
    code(cancelled, 0);
    expect(cancelled.stderr).toMatch(new RegExp(`^Cancelling task ${id}`, 'm'));
    const followed = await follower;
    code(followed, 0);
    expect(followed.stderr).toBe(`Task ${id} cancelled.\n`);
    const after = json(await idp('task:get', id, '-o', 'json'));
    expect(after).toMatchObject({ status: 'cancelled', steps: [{ id: 'publish', status: 'cancelled' }] });

    // Retried, it hangs in the same step again; cancelled again, the retry's follow exits 1.
    const retry = idp('task:retry', id);
    await waitUntil('the retry connects to the remote again', () => connections >= 2);
    code(await idp('task:cancel', id), 0);
    const retried = await retry;
    code(retried, 1);
    expect(retried.stderr).toMatch(/^▸ \[1\/1\] publish: publish:git \(attempt 2\)$/m);
    expect(retried.stderr).toMatch(/^✗ publish cancelled/m);
    expect(retried.stderr).toMatch(
      new RegExp(`^Error \\[TASK_CANCELLED\\]: task ${id} was cancelled at step publish$`, 'm'),
    );
    expect(retried.stderr).toContain(`Try this: Run \`idp task:retry ${id}\``);
  });
});
