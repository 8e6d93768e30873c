import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/index.ts';
import { ingestWorker } from './ingest-worker-client.ts';
import { readLocation, type ReadResult } from './read.ts';
import { CatalogStore } from './store.ts';
import { testLocation } from './test-location.ts';

const component = (i: number, extra = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-${i}\n  tags: [java, t${i % 5}]\n${extra}spec:\n  type: service\n  lifecycle: production\n  owner: team-${i % 7}\n  dependsOn: [component:c-${(i + 1) % 300}]\n`;

/** Valid entities with, among them, each kind of problem and a placeholder. */
function catalogFile(): string {
  const docs = Array.from({ length: 300 }, (_, i) => component(i));
  docs[10] = docs[10]!.replace('  lifecycle: production\n', ''); // a warning
  docs[20] = docs[20]!.replace('  type: service\n', '  type: 42\n'); // invalid
  docs[30] = component(31); // defined twice
  docs[40] = docs[40]!.replace('  type: service\n', '  type: service\n  description: { $text: ./readme.txt }\n');
  docs[50] = 'just a string\n';
  docs[60] = docs[60]!.replace('  type: service\n', '  type: service\n  dependencies: [{ component: c-1 }]\n');
  docs.push(
    'apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  target: ./more.yaml\n',
  );
  return docs.join('---\n');
}

/** What a read gives, in a form to compare. */
const summary = (r: ReadResult) => ({
  entities: r.entities,
  issues: r.issues,
  warnings: r.warnings,
  failedSources: r.failedSources,
  failedRefs: [...r.failedRefs],
});

describe('catalog files checked by the ingest worker', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-ingest-worker-'));
    writeFileSync(join(dir, 'readme.txt'), 'from a placeholder');
    writeFileSync(join(dir, 'more.yaml'), component(1000));
    writeFileSync(join(dir, 'catalog.yaml'), catalogFile());
  });
  afterEach(() => {
    ingestWorker.minBytes = 256 * 1024;
  });
  afterAll(async () => {
    await ingestWorker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file as the main thread does: entities, problems, warnings, placeholders, nested files', async () => {
    ingestWorker.minBytes = Infinity;
    const inline = await readLocation('file', join(dir, 'catalog.yaml'), { trusted: true });
    ingestWorker.minBytes = 0;
    const worker = await readLocation('file', join(dir, 'catalog.yaml'), { trusted: true });
    expect(summary(worker)).toEqual(summary(inline));
    expect(inline.entities.length).toBe(299); // 297 components, the Location, and the one in more.yaml
    const described = inline.entities.find((e) => e.ref === 'component:default/c-40');
    expect((described?.entity.spec as { description?: string }).description).toBe('from a placeholder');
    expect(inline.issues.map((i) => i.entityRef)).toEqual(
      expect.arrayContaining(['component:default/c-20', 'component:default/c-31', null]),
    );
    expect(inline.warnings).toHaveLength(1);
  });

  it('fails the whole file on a YAML error after the first slices, as the main thread does', async () => {
    const docs = Array.from({ length: 1500 }, (_, i) => component(i));
    docs[1400] = 'kind: [oops\n';
    const text = docs.join('---\n');
    expect(text.length).toBeGreaterThan(2 * 128 * 1024); // parsed in slices: the error is in a late one
    writeFileSync(join(dir, 'broken.yaml'), text);
    ingestWorker.minBytes = Infinity;
    const inline = await readLocation('file', join(dir, 'broken.yaml'), { trusted: true });
    ingestWorker.minBytes = 0;
    const worker = await readLocation('file', join(dir, 'broken.yaml'), { trusted: true });
    expect(worker.entities).toEqual([]);
    expect(worker.failedSources).toEqual([`file:${join(dir, 'broken.yaml')}`]);
    expect(summary(worker)).toEqual(summary(inline));
    expect(worker.issues[0]?.message).toMatch(/^YAML syntax error at line \d+/);
  });

  it('turns a worker that stops into a problem of the file, and starts a new one for the next', async () => {
    ingestWorker.minBytes = 0;
    const reading = readLocation('file', join(dir, 'catalog.yaml'), { trusted: true });
    // Stopped while it checks the file: the file fails, the server does not.
    while (!ingestWorker.busy) await new Promise((resolve) => setImmediate(resolve));
    await ingestWorker.stop();
    const stopped = await reading;
    expect(stopped.entities.filter((e) => e.source.endsWith('catalog.yaml'))).toEqual([]);
    expect(stopped.failedSources).toContain(`file:${join(dir, 'catalog.yaml')}`);
    expect(stopped.issues[0]?.message).toMatch(
      /could not be checked \(.*catalog worker.*\); nothing from this file was changed/,
    );
    const again = await readLocation('file', join(dir, 'catalog.yaml'), { trusted: true });
    expect(again.entities.length).toBe(299);
  });
});

describe('entities stitched by the ingest worker', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-ingest-stitch-'));
    writeFileSync(join(dir, 'readme.txt'), 'from a placeholder');
    writeFileSync(join(dir, 'more.yaml'), component(1000));
    writeFileSync(join(dir, 'catalog.yaml'), catalogFile());
  });
  afterEach(() => {
    ingestWorker.minStitch = 1000;
  });
  afterAll(async () => {
    await ingestWorker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every catalog row after reading the file twice (the second time without c-5), stitched where `minStitch` says. */
  async function rowsAfterTwoReads(minStitch: number) {
    ingestWorker.minStitch = minStitch;
    const store = await openStore({ dataDir: mkdtempSync(join(dir, 'store-')) });
    let uid = 0;
    const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
    const catalog = new CatalogStore(store.db, store.dialect, clock, () => `uid-${String(++uid).padStart(6, '0')}`);
    const row = testLocation('loc', join(dir, 'catalog.yaml'));
    try {
      await catalog.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, true);
      // c-5 goes: c-6, unchanged itself, is stitched again from its stored row (without dependencyOf c-5).
      writeFileSync(row.target, catalogFile().replace(component(5), ''));
      await catalog.applyRefresh(row, await readLocation('file', row.target, { trusted: true }));
      writeFileSync(row.target, catalogFile());
      const entities = await store.db.selectFrom('catalog_entities').selectAll().orderBy('uid').execute();
      const search = await store.db
        .selectFrom('catalog_search')
        .selectAll()
        .orderBy('entity_uid')
        .orderBy('key')
        .orderBy('value')
        .execute();
      return { entities, search };
    } finally {
      await store.close();
    }
  }

  it('writes the same entity and search rows as stitching on the main thread', async () => {
    const inline = await rowsAfterTwoReads(Infinity);
    const worker = await rowsAfterTwoReads(0);
    expect(inline.entities.length).toBe(298);
    const c6 = inline.entities.find((e) => e.ref === 'component:default/c-6');
    expect(c6?.entity).not.toContain('component:default/c-5');
    expect(c6?.entity).toContain('component:default/c-7');
    expect(worker).toEqual(inline);
  });
});
