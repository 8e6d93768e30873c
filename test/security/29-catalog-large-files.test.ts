// Catalog files of 256 KiB and more are parsed and checked in a worker thread (ingest-worker.ts).
// The same rules hold on that path as on the small-file one (security 02, 06, 28): a bomb hidden
// deep in a large file fails the file alone with the limit named, nothing from it is written and
// the server keeps answering; a placeholder in a large file still reads only under the location's
// rules; a developer's large file still cannot add Groups or memberships.
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api } from '../support/server.ts';

/** The size from which the ingest worker takes a file (ingest-worker-client.ts). */
const WORKER_MIN_BYTES = 256 * 1024;

const component = (name: string, extra = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:payments\n${extra}`;

/** Enough valid components to take a file past the worker's threshold. */
const padding = (prefix: string) =>
  Array.from({ length: 2000 }, (_, i) => component(`${prefix}-${String(i).padStart(4, '0')}`));

/** 9 levels of 9 aliases under spec: about 1 KB standing for 9^9 strings. */
function aliasBomb(): string {
  const lines = [`  l0: &l0 [${Array(9).fill('"lollollollollollol"').join(', ')}]`];
  for (let i = 1; i < 9; i++)
    lines.push(
      `  l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return component('bomb', `${lines.join('\n')}\n`);
}

function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

describe('security 29: large catalog files (checked in a worker thread) obey the same limits and rules', () => {
  let server: HostileServer;
  let alice = '';
  let http: Server;
  let base = '';
  const served: Record<string, string> = {};

  beforeAll(async () => {
    http = createServer((req, res) => {
      const body = served[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/yaml' }).end(body ?? '');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    server = await startHostileServer({ args: ['--config', acmeConfigAllowing('sec-29', ['127.0.0.1'])] });
    alice = await server.tokenFor('alice');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    http?.close();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
  });

  const register = async (path: string, body: string) => {
    served[path] = body;
    expect(Buffer.byteLength(body)).toBeGreaterThan(WORKER_MIN_BYTES);
    const res = await api(server, alice, 'POST', '/api/catalog/idp/locations', { target: `${base}${path}` });
    expect(res.status, res.text).toBe(201);
    return res.json as { added: number; errors: number; location: { id: string } };
  };
  const errorsOf = async (id: string) =>
    (await api(server, alice, 'GET', `/api/catalog/idp/errors?location=${id}`)).json.items as {
      message: string;
      entityRef: string | null;
    }[];
  const entity = (name: string) => api(server, alice, 'GET', `/api/catalog/idp/entity?ref=${name}`);

  it('an alias bomb after 2,000 valid entities fails the whole file with the limit named; nothing is written', async () => {
    const before = rssMb(server.child.pid!);
    const res = await register('/bomb.yaml', [...padding('bombpad'), aliasBomb()].join('---\n'));
    expect(res).toMatchObject({ added: 0, errors: 1 });
    expect((await errorsOf(res.location.id))[0]!.message).toMatch(/over the YAML (expanded size|alias count) limit/);
    expect((await entity('bombpad-0000')).status).toBe(404);
    expect((await entity('bomb')).status).toBe(404);
    expect(await server.alive()).toBe(true);
    expect(rssMb(server.child.pid!) - before).toBeLessThan(250);
  });

  it('deep nesting in a large file is a catalog error too, and the server keeps answering', async () => {
    const res = await register(
      '/deep.yaml',
      [...padding('deeppad'), `${'['.repeat(5000)}${']'.repeat(5000)}\n`].join('---\n'),
    );
    expect(res.added).toBe(0);
    expect((await errorsOf(res.location.id))[0]!.message).toMatch(/nesting depth limit/);
    expect((await entity('deeppad-0001')).status).toBe(404);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entities?kind=component&limit=1')).status).toBe(200);
  });

  it("a placeholder in a large file cannot read the server's disk, and a Group in it is refused", async () => {
    const adminToken = join(server.dataDir, 'admin-token');
    const secret = readFileSync(adminToken, 'utf8').trim();
    const group =
      'apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: sec29-admins\nspec:\n  type: team\n  children: []\n  members: [alice]\n';
    const res = await register(
      '/mixed.yaml',
      [
        ...padding('mixedpad'),
        component('leak-abs', `  settings:\n    $text: ${adminToken}\n`),
        component('leak-file', `  settings:\n    $text: file://${adminToken}\n`),
        group,
      ].join('---\n'),
    );
    // The valid entities are added; the two placeholders and the Group are errors of their own.
    expect(res.added).toBe(2000);
    const errors = await errorsOf(res.location.id);
    const refs = errors.map((e) => e.entityRef);
    expect(refs).toEqual(
      expect.arrayContaining([
        'component:default/leak-abs',
        'component:default/leak-file',
        'group:default/sec29-admins',
      ]),
    );
    expect(errors.find((e) => e.entityRef === 'group:default/sec29-admins')!.message).toMatch(/identity sources/);
    for (const name of ['leak-abs', 'leak-file']) expect((await entity(name)).status).toBe(404);
    expect((await entity('group:sec29-admins')).status).toBe(404);
    expect(JSON.stringify(errors)).not.toContain(secret);
    // The admin token read nowhere: alice is no admin and the token still belongs to the server alone.
    expect((await api(server, alice, 'GET', '/api/audit')).status).toBe(403);
  });
});
