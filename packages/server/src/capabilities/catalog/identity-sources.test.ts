import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../audit/index.ts';
import { Directory } from '../../identity/index.ts';
import { openStore, type Store } from '../../store/index.ts';
import { loadTrustedDirectory, reconcileIdentity, refuseUntrustedIdentity } from './identity-sources.ts';
import type { ReadResult } from './read.ts';
import { relationsOf } from './relations.ts';
import { CatalogStore, type LocationRow } from './store.ts';
import { canonicalJson } from '@idp/core';
import { sha1 } from './util.ts';
import { testLocation } from './test-location.ts';

const entity = (kind: string, name: string, spec: Record<string, unknown>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name },
  spec: spec as Entity['spec'],
});

function readOf(source: string, entities: Entity[]): ReadResult {
  return {
    entities: entities.map((e) => ({
      ref: stringifyEntityRef(e),
      kind: e.kind.toLowerCase(),
      entity: e,
      source,
      parentRef: null,
      contentHash: sha1(canonicalJson(e)),
      relations: relationsOf(e),
    })),
    issues: [],
    warnings: [],
    failedSources: [],
    failedRefs: new Set(),
  };
}

const location = (id: string, identity: number): LocationRow =>
  testLocation(id, `https://example.com/${id}.yaml`, {
    type: 'url',
    created_at: `2026-01-01T00:00:0${id.length}Z`,
    created_by: 'user:default/alice',
    identity_source: identity,
  });

const ORG = [
  entity('Group', 'engineering', { type: 'org', children: ['payments', 'platform'] }),
  entity('Group', 'payments', { type: 'team', children: [] }),
  entity('Group', 'platform', { type: 'team', children: [] }),
  entity('User', 'alice', { memberOf: ['payments'] }),
  entity('User', 'frank', { memberOf: ['platform'] }),
];

// What a developer's location could have stored before identity had a trust root.
const INJECTED = [
  entity('Group', 'shadow', { type: 'team', parent: 'platform', members: ['alice'], children: ['payments'] }),
  entity('User', 'mallory', { memberOf: ['platform'] }),
];

describe('identity sources', () => {
  let store: Store;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-identity-sources-'));
    store = await openStore({ dataDir: dir });
    const catalog = new CatalogStore(store.db, store.dialect, { now: () => new Date('2026-01-01T00:00:00Z') });
    await catalog.applyRefresh(location('org', 1), readOf('url:https://example.com/org.yaml', ORG), undefined, true);
    await catalog.applyRefresh(
      location('dev', 0),
      readOf('url:https://example.com/dev.yaml', INJECTED),
      undefined,
      true,
    );
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a non-identity location's Users and Groups, naming the rule, and keeps its other entities", () => {
    const read = readOf('url:https://example.com/dev.yaml', [
      ...INJECTED,
      entity('Component', 'widget', { type: 'service', lifecycle: 'x', owner: 'payments' }),
    ]);
    const out = refuseUntrustedIdentity(read, location('dev', 0));
    expect(out.entities.map((e) => e.ref)).toEqual(['component:default/widget']);
    expect(out.issues.map((i) => i.entityRef)).toEqual(['group:default/shadow', 'user:default/mallory']);
    for (const i of out.issues)
      expect(i.message).toMatch(/^CATALOG_IDENTITY_UNTRUSTED: .*url:https:\/\/example.com\/dev.yaml is not one$/);
    expect(refuseUntrustedIdentity(read, location('org', 1))).toBe(read);
  });

  it('builds the directory from identity sources only, dropping memberships a stored non-identity entity caused', async () => {
    const dir = await loadTrustedDirectory(store.db, 'platform');
    expect([...dir.users.keys()].sort()).toEqual(['user:default/alice', 'user:default/frank']);
    expect(dir.groups.has('group:default/shadow')).toBe(false);
    expect(dir.isAdmin('user:default/alice')).toBe(false);
    expect(dir.isAdmin('user:default/frank')).toBe(true);
    // The stored shadow group made itself payments' parent and platform's child; neither counts.
    expect(dir.groups.get('group:default/payments')!.parent).toBe('group:default/engineering');
    expect(dir.groups.get('group:default/platform')!.children).toEqual([]);
    expect(dir.teamsOf('user:default/alice')).toEqual(['engineering', 'payments']);
  });

  it('audits admin changes and revokes, for good, the API and workload tokens of users who left', async () => {
    const clock = { now: () => new Date('2026-01-02T00:00:00Z') };
    const audit = new AuditLog(store.db, clock, store.dialect);
    const token = (id: string, user: string) => ({
      id,
      user_ref: user,
      token_hash: id,
      description: null,
      created_at: 'x',
      created_by: 'x',
      expires_at: null,
      revoked_at: null,
      revoked_by: null,
      last_used_at: null,
    });
    await store.db
      .insertInto('api_tokens')
      .values([token('t-alice', 'user:default/alice'), token('t-frank', 'user:default/frank')])
      .execute();
    await store.db
      .insertInto('workload_tokens')
      .values({
        id: 'w-alice',
        token_hash: 'w',
        env: 'staging',
        service: 's',
        grant_id: null,
        created_at: 'x',
        created_by: 'user:default/alice',
        expires_at: '2099-01-01T00:00:00Z',
        revoked_at: null,
      } as never)
      .execute();
    const full = await loadTrustedDirectory(store.db, 'platform');
    const first = await reconcileIdentity(store.db, audit, clock, full, 'system:catalog');
    expect(first).toMatchObject({ initial: true, admins: { added: ['user:default/frank'], removed: [] }, revoked: [] });
    expect((await reconcileIdentity(store.db, audit, clock, full, 'system:catalog')).admins).toEqual({
      added: [],
      removed: [],
    });

    // An empty directory is an accident: tokens are not revoked for it.
    const empty = await reconcileIdentity(
      store.db,
      audit,
      clock,
      Directory.fromEntities([], 'platform'),
      'system:catalog',
    );
    expect(empty.revoked).toEqual([]);
    await reconcileIdentity(store.db, audit, clock, full, 'system:catalog');

    // frank and alice leave: frank's admin role and both users' tokens end.
    const without = Directory.fromEntities([entity('User', 'zoe', {})], 'platform');
    const second = await reconcileIdentity(store.db, audit, clock, without, 'user:default/idp-admin');
    expect(second.admins.removed).toEqual(['user:default/frank']);
    expect(second.revoked).toEqual([
      { user: 'user:default/alice', apiTokens: ['t-alice'], workloadTokens: ['w-alice'] },
      { user: 'user:default/frank', apiTokens: ['t-frank'], workloadTokens: [] },
    ]);
    const rows = await store.db
      .selectFrom('api_tokens')
      .select(['id', 'revoked_at', 'revoked_by'])
      .orderBy('id')
      .execute();
    expect(rows.every((r) => r.revoked_at && r.revoked_by === 'system:identity')).toBe(true);
    expect(
      (await store.db.selectFrom('workload_tokens').select('revoked_at').executeTakeFirstOrThrow()).revoked_at,
    ).not.toBeNull();
    const records = await store.db
      .selectFrom('audit_log')
      .select(['action', 'target', 'actor'])
      .orderBy('seq')
      .execute();
    expect(records).toEqual([
      { action: 'identity:admins-changed', target: 'group:platform', actor: 'system:catalog' },
      { action: 'identity:admins-changed', target: 'group:platform', actor: 'system:catalog' },
      { action: 'identity:admins-changed', target: 'group:platform', actor: 'system:catalog' },
      { action: 'identity:admins-changed', target: 'group:platform', actor: 'user:default/idp-admin' },
      { action: 'identity:user-removed', target: 'user:default/alice', actor: 'system:identity' },
      { action: 'identity:user-removed', target: 'user:default/frank', actor: 'system:identity' },
    ]);

    // Back in the directory (re-registered): the revoked tokens stay revoked; they need new ones.
    const back = await reconcileIdentity(store.db, audit, clock, full, 'system:catalog');
    expect(back.revoked).toEqual([]);
    expect(
      await store.db.selectFrom('api_tokens').select('revoked_at').where('revoked_at', 'is', null).execute(),
    ).toEqual([]);
  });
});
