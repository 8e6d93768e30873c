// Placeholders ($text, $json, $yaml) read under the rules of the location that holds them: a
// developer's git repository cannot read the server's disk through them (absolute paths, ../,
// links out of the clone), a developer's URL location cannot reach internal addresses, targets are
// bounded in size, and what a $yaml target holds is not expanded again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocation } from '../../packages/server/src/capabilities/catalog/read.ts';
import { FetchRules } from '../../packages/server/src/capabilities/catalog/fetch-rules.ts';
import { startGitHttp, type GitHttp } from '../support/git-http.ts';
import { pushFiles } from '../support/git-repo.ts';

const SECRET = `server-secret-${Math.random().toString(36).slice(2)}`;
const api = (name: string, definition: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: ${name}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: group:payments\n  definition:\n    ${definition}\n`;
/** A Component whose spec.settings is a placeholder (any value is fine there, not only text). */
const component = (name: string, settings: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:payments\n  settings:\n    ${settings}\n`;

describe('security 28: catalog placeholders stay inside the location', () => {
  const work = mkdtempSync(join(tmpdir(), 'idp-sec26-'));
  const secretFile = join(work, 'server-secret.txt');
  let gitHttp: GitHttp;
  let web: Server;
  let internal: Server;
  let webUrl = '';
  let internalUrl = '';
  const fetched: string[] = [];

  beforeAll(async () => {
    writeFileSync(secretFile, SECRET);
    const huge = 'x'.repeat(1024 * 1024 + 10);
    pushFiles(join(work, 'git/alice.git'), {
      'catalog-info.yaml': [
        api('abs-path', `$text: ${secretFile}`),
        api('passwd', '$text: /etc/passwd'),
        api('file-url', `$text: file://${secretFile}`),
        api('dotdot', `$text: ../../../../../../../../..${secretFile}`),
        api('link-out', '$text: ./docs/link.txt'),
        api('huge', '$text: ./huge.txt'),
        api('ok', '$text: ./docs/openapi.yaml'),
        component('nested', '$yaml: ./docs/nested.yaml'),
      ].join('---\n'),
      'docs/openapi.yaml': 'openapi: 3.0.0\n',
      'docs/link.txt': { link: secretFile },
      'docs/nested.yaml': `inner:\n  $text: ${secretFile}\n`,
      'huge.txt': huge,
    });
    gitHttp = await startGitHttp(join(work, 'git'));

    internal = createServer((req, res) => {
      fetched.push(req.url ?? '');
      res.end(SECRET);
    });
    // Another loopback address: the location's host (127.0.0.1) is allowed, this one is not.
    await new Promise<void>((r) => internal.listen(0, '127.0.0.2', r));
    internalUrl = `http://127.0.0.2:${(internal.address() as { port: number }).port}/metadata`;
    web = createServer((req, res) => {
      if (req.url === '/catalog-info.yaml')
        res.end(
          [
            api('internal', `$text: ${internalUrl}`),
            api('file-scheme', `$text: file://${secretFile}`),
            api('big', '$text: /big.txt'),
            component('fine', '$json: /spec.json'),
          ].join('---\n'),
        );
      else if (req.url === '/big.txt') res.end('y'.repeat(2 * 1024 * 1024));
      else if (req.url === '/spec.json') res.end('{"openapi": "3.0.0"}');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}/catalog-info.yaml`;
  });

  afterAll(async () => {
    await gitHttp.close();
    await new Promise<void>((r) => web.close(() => r()));
    await new Promise<void>((r) => internal.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  });

  const byName = (read: Awaited<ReturnType<typeof readLocation>>, name: string, kind = 'api') => ({
    entity: read.entities.find((e) => e.entity.metadata.name === name)?.entity,
    issue: read.issues.find((i) => i.entityRef === `${kind}:default/${name}`)?.message,
  });

  it("a developer's git repository reads its own files, never the server's", async () => {
    const read = await readLocation('git', `${gitHttp.url}alice.git`, {
      trusted: false,
      fetchRules: new FetchRules(['127.0.0.1']),
    });
    expect(JSON.stringify(read)).not.toContain(SECRET);
    expect(byName(read, 'ok').entity?.spec?.definition).toBe('openapi: 3.0.0\n');
    for (const name of ['abs-path', 'passwd', 'file-url', 'dotdot', 'link-out']) {
      const { entity, issue } = byName(read, name);
      expect(entity, name).toBeUndefined();
      expect(issue, name).toMatch(/^spec\.definition: \$text .* is outside the repository/);
    }
    expect(byName(read, 'huge').issue).toMatch(/spec\.definition: \$text \.\/huge\.txt: .* larger than 1 MiB/);
    // What $yaml brings in is taken as it is: its own placeholders are not read.
    expect(byName(read, 'nested', 'component').entity?.spec?.settings).toEqual({ inner: { $text: secretFile } });
  });

  it("a developer's URL location cannot reach internal addresses or local files", async () => {
    const read = await readLocation('url', webUrl, { trusted: false, fetchRules: new FetchRules(['127.0.0.1']) });
    expect(JSON.stringify(read)).not.toContain(SECRET);
    expect(fetched).toEqual([]);
    expect(byName(read, 'internal').issue).toMatch(/spec\.definition: \$text .*refused or unreachable/);
    expect(byName(read, 'file-scheme').issue).toMatch(/file: targets are not read from a location fetched over http/);
    expect(byName(read, 'big').issue).toMatch(/spec\.definition: \$text \/big\.txt: could not fetch/);
    expect(byName(read, 'fine', 'component').entity?.spec?.settings).toEqual({ openapi: '3.0.0' });
  });

  it('the number of placeholders in one entity is bounded', async () => {
    const dir = mkdtempSync(join(work, 'many-'));
    writeFileSync(join(dir, 't.txt'), 'x');
    const tags = Array.from({ length: 101 }, (_, i) => `    k${i}:\n      $text: ./t.txt`).join('\n');
    writeFileSync(
      join(dir, 'catalog-info.yaml'),
      `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: many\nspec:\n  type: service\n  lifecycle: production\n  owner: group:payments\n  extra:\n${tags}\n`,
    );
    const read = await readLocation('file', dir, { trusted: true });
    expect(read.entities).toEqual([]);
    expect(read.issues[0]?.message).toMatch(/more than 100 placeholders in one entity/);
  });
});
