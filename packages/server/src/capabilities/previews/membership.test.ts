import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entity } from '@backstage/catalog-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { Directory } from '../../identity/directory.ts';
import { CatalogQueries } from '../catalog/query.ts';
import { readLocation } from '../catalog/read.ts';
import { CatalogStore } from '../catalog/store.ts';
import { catalogMembership } from './membership.ts';
import { testLocation } from '../catalog/test-location.ts';

const doc = (kind: string, name: string, spec: Record<string, unknown>, login?: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${
    login ? `  annotations:\n    github.com/user-login: ${login}\n` : ''
  }spec: ${JSON.stringify(spec)}\n`;

const ORG = [
  doc('Group', 'engineering', { type: 'org', children: ['payments', 'search'] }),
  doc('Group', 'payments', { type: 'team', children: [] }),
  doc('Group', 'search', { type: 'team', children: [] }),
  doc('User', 'alice', { memberOf: ['payments'] }, 'AliceGH'),
  doc('User', 'bob', { memberOf: ['search'] }, 'bob-gh'),
  doc('User', 'carol', { memberOf: ['payments'] }),
  doc('User', 'twin1', { memberOf: ['payments'] }, 'twin'),
  doc('User', 'twin2', { memberOf: ['search'] }, 'twin'),
].join('---\n');

describe('catalogMembership: a GitHub login to the owning team through the catalog', () => {
  const t = tempSqliteStore('previews-membership');
  let dir = '';
  let directory: Directory;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-previews-membership-'));
    writeFileSync(join(dir, 'org.yaml'), ORG);
    const store = new CatalogStore(t.store.db, t.store.dialect, { now: () => new Date('2026-01-01T00:00:00Z') });
    const row = testLocation('org', join(dir, 'org.yaml'));
    await store.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, true);
    const { items } = await new CatalogQueries(t.store.db).list(undefined, undefined, undefined, 0);
    directory = Directory.fromEntities(
      items.map((e) => JSON.parse(e as string) as Entity),
      'platform',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a user whose annotation names the login is a member of their teams and their parents', async () => {
    const m = catalogMembership(new CatalogQueries(t.store.db), directory);
    expect(await m.isMember('AliceGH', 'payments')).toBe(true);
    expect(await m.isMember('alicegh', 'payments')).toBe(true);
    expect(await m.isMember('AliceGH', 'engineering')).toBe(true);
    expect(await m.isMember('AliceGH', 'search')).toBe(false);
    expect(await m.isMember('bob-gh', 'payments')).toBe(false);
  });

  it('an unknown login, a user without the annotation, a login two users claim or a hostile login is not a member', async () => {
    const m = catalogMembership(new CatalogQueries(t.store.db), directory);
    expect(await m.isMember('carol', 'payments')).toBe(false);
    expect(await m.isMember('mallory', 'payments')).toBe(false);
    expect(await m.isMember('twin', 'payments')).toBe(false);
    expect(await m.isMember("x' or 1=1 --", 'payments')).toBe(false);
    expect(await m.isMember('', 'payments')).toBe(false);
  });
});
