import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { serviceArchive, startHostileServer, uploadRelease, type HostileServer } from '../support/security.ts';
import { api, runCli } from '../support/server.ts';

/** 9 levels of 9 aliases: about 1 KB of YAML standing for 9^9 (387 million) strings. */
function aliasBomb(): string {
  const lines = [
    'apiVersion: backstage.io/v1alpha1',
    'kind: Component',
    'metadata:',
    '  name: bomb',
    'spec:',
    '  type: service',
    '  lifecycle: production',
    '  owner: group:payments',
  ];
  lines.push(`  l0: &l0 [${Array(9).fill('"lollollollollollol"').join(', ')}]`);
  for (let i = 1; i < 9; i++)
    lines.push(
      `  l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}

const component = (name: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:payments\n`;

/** Resident memory of a process, in MB, from /proc. */
function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

describe('security 06: a YAML or JSON bomb never takes the control plane down', () => {
  let server: HostileServer;
  let alice = '';
  let http: Server;
  let base = '';
  const served: Record<string, string> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'idp-sec06-'));

  beforeAll(async () => {
    http = createServer((req, res) => {
      const body = served[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/yaml' }).end(body ?? '');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    // The bomb host is on loopback, so the config allow-lists it: the limits, not the address rules, must stop it.
    server = await startHostileServer({ args: ['--config', acmeConfigAllowing('sec-06', ['127.0.0.1'])] });
    alice = await server.tokenFor('alice');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    http?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const errorsOf = async (id: string) =>
    (await api(server, alice, 'GET', `/api/catalog/idp/errors?location=${id}`)).json.items as { message: string }[];

  it('registering a 1 KB alias bomb records a catalog error naming the limit; memory stays bounded', async () => {
    served['/bomb.yaml'] = aliasBomb();
    expect(served['/bomb.yaml']!.length).toBeLessThan(1200);
    const before = rssMb(server.child.pid!);
    const res = await api(server, alice, 'POST', '/api/catalog/idp/locations', { target: `${base}/bomb.yaml` });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ added: 0, errors: 1 });
    const errors = await errorsOf(res.json.location.id);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/over the YAML (expanded size|alias count) limit/);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=bomb')).status).toBe(404);
    expect(await server.alive()).toBe(true);
    const after = rssMb(server.child.pid!);
    expect(after - before).toBeLessThan(150);
    expect(after).toBeLessThan(600);
  });

  it('a bomb swapped in after registration is reported at refresh; the entity it replaced is kept', async () => {
    served['/swap.yaml'] = component('swap-target');
    const res = await api(server, alice, 'POST', '/api/catalog/idp/locations', { target: `${base}/swap.yaml` });
    expect(res.json).toMatchObject({ added: 1, errors: 0 });
    served['/swap.yaml'] = aliasBomb();
    const before = rssMb(server.child.pid!);
    const again = await api(server, alice, 'POST', `/api/catalog/idp/locations/${res.json.location.id}/refresh`);
    expect(again.status, again.text).toBe(200);
    expect(again.json.errors).toBe(1);
    expect((await errorsOf(res.json.location.id))[0]!.message).toMatch(
      /over the YAML (expanded size|alias count) limit/,
    );
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=swap-target')).status).toBe(200);
    expect(await server.alive()).toBe(true);
    expect(rssMb(server.child.pid!) - before).toBeLessThan(150);
  });

  it('deeply nested YAML and too many documents are catalog errors too', async () => {
    served['/deep.yaml'] = `${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    served['/many.yaml'] = '---\na: 1\n'.repeat(20_001);
    for (const [path, limit] of [
      ['/deep.yaml', /nesting depth limit/],
      ['/many.yaml', /document count limit/],
    ] as const) {
      const res = await api(server, alice, 'POST', '/api/catalog/idp/locations', { target: `${base}${path}` });
      expect(res.status, res.text).toBe(201);
      expect((await errorsOf(res.json.location.id))[0]!.message).toMatch(limit);
    }
    expect(await server.alive()).toBe(true);
  });

  it('a deploy.yaml alias bomb is DEPLOY_SPEC_INVALID naming the limit, at upload and in `idp deploy:validate`', async () => {
    const deployYaml = `service:\n  name: payments-api\n  team: payments\n${aliasBomb()
      .split('\n')
      .filter((l) => /^ {2}l\d/.test(l))
      .map((l) => `x${l.trim()}`)
      .join('\n')
      .replace(/^x(l\d+):/gm, 'x-$1:')}\n`;
    const archive = serviceArchive({
      '.idp/deploy.yaml': deployYaml,
      'server.js': 'require("http").createServer((q, s) => s.end("ok")).listen(process.env.PORT)\n',
    });
    try {
      const up = await uploadRelease(server, alice, 'payments-api', archive.commit, archive.tar);
      expect(up.status, up.text).toBe(400);
      expect(up.json.error.code).toBe('DEPLOY_SPEC_INVALID');
      expect(up.text).toMatch(/over the YAML (expanded size|alias count) limit/);
    } finally {
      rmSync(archive.repo, { recursive: true, force: true });
    }
    const dir = join(scratch, 'svc');
    mkdirSync(join(dir, '.idp'), { recursive: true });
    writeFileSync(join(dir, '.idp/deploy.yaml'), deployYaml);
    const cli = await runCli(['deploy:validate', dir]);
    expect(cli.code).toBe(2);
    expect(cli.stdout + cli.stderr).toMatch(/over the YAML (expanded size|alias count) limit/);
    expect(await server.alive()).toBe(true);
  });

  it('a deeply nested JSON body is a 400 with a code, not a crash or a 500', async () => {
    const depth = 400_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = (key: string) => `${`{"${key}":`.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const entity = (deep: string) =>
      `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"deep"},"spec":{"type":"service","lifecycle":"x","owner":"me","deep":${deep}}}`;
    for (const [path, body] of [
      ['/api/catalog/validate-entity', `{"entity":${nested},"location":"url:http://example.com/x"}`],
      ['/api/catalog/validate-entity', `{"entity":${entity(deepObject('a'))},"location":"url:http://example.com/x"}`],
      [
        '/api/catalog/validate-entity',
        `{"entity":${entity(deepObject('constructor'))},"location":"url:http://example.com/x"}`,
      ],
      ['/api/catalog/idp/locations', `{"target":${deepObject('__proto__')}}`],
      ['/api/catalog/idp/locations', `{"target":${nested}}`],
      ['/api/tokens', nested],
    ] as const) {
      const res = await api(server, alice, 'POST', path, body);
      expect(res.status, `${path}: ${res.text.slice(0, 300)}`).toBe(400);
      expect(res.text).toMatch(/"code"|"name"/);
    }
    // Over the body limit: refused on its declared length, before a byte of it is read. Only the
    // head is sent (a server that answers and closes while a large body is still arriving makes
    // the client's TCP stack drop the answer on a reset, so the test would see no status).
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/api/catalog/idp/locations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${alice}`,
          'content-type': 'application/json',
          'content-length': String(2 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
    expect(await server.alive()).toBe(true);
  });
});
