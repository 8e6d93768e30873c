import type { Entity } from '@backstage/catalog-model';
import type { Principal } from '@idp/contracts';
import { shortRef } from '@idp/core';
import { describe, expect, it } from 'vitest';
import { ObservabilitySchema, type TeamViewsConfig } from '../../config/index.ts';
import { Directory } from '../../identity/index.ts';
import { Glob, TeamViews, parseLogSelector, unknownTeamWarnings } from './team-views.ts';

// The views on a real Directory built from catalog entities (relations stitched on both sides,
// as the catalog does): payments (alice, bob; child group payments-oncall with carol) and
// identity (dave); erin is in no team.

const rel = (type: string, targetRef: string) => ({ type, targetRef });
const user = (name: string, groups: string[]): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name },
  spec: {},
  relations: groups.map((g) => rel('memberOf', `group:default/${g}`)),
});
const group = (name: string, members: string[], extra: { parent?: string; children?: string[] } = {}): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name },
  spec: { type: 'team', children: [] },
  relations: [
    ...members.map((m) => rel('hasMember', `user:default/${m}`)),
    ...(extra.parent ? [rel('childOf', `group:default/${extra.parent}`)] : []),
    ...(extra.children ?? []).map((c) => rel('parentOf', `group:default/${c}`)),
  ],
});

const directory = Directory.fromEntities(
  [
    user('alice', ['payments']),
    user('bob', ['payments']),
    user('carol', ['payments-oncall']),
    user('dave', ['identity']),
    user('erin', []),
    group('payments', ['alice', 'bob'], { children: ['payments-oncall'] }),
    group('payments-oncall', ['carol'], { parent: 'payments' }),
    group('identity', ['dave']),
    group('platform', []),
  ],
  'platform',
);

const principal = (name: string, roles: Principal['roles'] = ['member']): Principal => {
  const ref = `user:default/${name}`;
  return { ref, name, email: null, displayName: null, teams: directory.teamsOf(ref), roles, tokenId: null };
};

const teams = (raw: unknown[]): TeamViewsConfig[] => ObservabilitySchema.parse({ teams: raw }).teams;

const viewsOf = (raw: unknown[]) =>
  new TeamViews({
    teams: teams(raw),
    groupMembers: (team) => directory.membersOf(`group:default/${team}`).map((m) => shortRef(m.ref)),
  });

describe('globs', () => {
  it('match the whole name with * and ? only', () => {
    expect(new Glob('payments-*').matches('payments-api')).toBe(true);
    expect(new Glob('payments-*').matches('payments-')).toBe(true);
    expect(new Glob('payments-*').matches('old-payments-api')).toBe(false);
    expect(new Glob('*-api').matches('payments-api')).toBe(true);
    expect(new Glob('*-api').matches('payments-api-v2')).toBe(false);
    expect(new Glob('v?').matches('v1')).toBe(true);
    expect(new Glob('v?').matches('v12')).toBe(false);
    expect(new Glob('a*b*c').matches('axxbyyc')).toBe(true);
    expect(new Glob('a*b*c').matches('axxcyyb')).toBe(false);
    expect(new Glob('*').matches('')).toBe(true);
    expect(new Glob('a.b').matches('axb')).toBe(false);
    expect(new Glob('a.b').matches('a.b')).toBe(true);
  });

  it('answer a pathological glob against a long name at once (no backtracking blow-up)', () => {
    const started = performance.now();
    expect(new Glob(`${'a*'.repeat(99)}b`).matches('a'.repeat(200))).toBe(false);
    expect(new Glob('*a*a*a*a*a*a*a*a*a*a*a*a*b').matches('a'.repeat(5000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('parse log selector lines', () => {
    expect(parseLogSelector('namespace=payments-*')).toEqual({ label: 'namespace', glob: 'payments-*' });
    expect(parseLogSelector('service=a=b')).toEqual({ label: 'service', glob: 'a=b' });
    expect(parseLogSelector('host=x')).toBeUndefined();
    expect(parseLogSelector('service=')).toBeUndefined();
  });
});

describe('team views', () => {
  const views = viewsOf([
    { name: 'payments', views: { dashboards: ['payments-*'], logs: { paths: ['namespace=payments-*'] } } },
    {
      name: 'identity',
      members: ['user:default/dave', 'Erin'],
      views: { dashboards: ['identity-overview'], logs: { paths: ['service=identity-api', 'env=sandbox'] } },
    },
  ]);

  it('apply to the Group (child groups included) when members is omitted', async () => {
    expect(await views.forPrincipal(principal('alice'))).toEqual({
      teams: ['payments'],
      dashboardGlobs: ['payments-*'],
      logSelectors: [{ label: 'namespace', glob: 'payments-*' }],
    });
    expect((await views.forPrincipal(principal('carol'))).teams).toEqual(['payments']);
    expect((await views.forPrincipal(principal('dave'))).teams).toEqual(['identity']);
  });

  it('apply only to the listed members when members is given (refs and case as the catalog compares them)', async () => {
    expect((await views.forPrincipal(principal('erin'))).teams).toEqual(['identity']);
    const explicit = viewsOf([{ name: 'payments', members: ['alice'], views: { dashboards: ['p-*'] } }]);
    expect((await explicit.forPrincipal(principal('alice'))).dashboardGlobs).toEqual(['p-*']);
    expect(await explicit.forPrincipal(principal('bob'))).toEqual({ teams: [], dashboardGlobs: [], logSelectors: [] });
    // bob still owns the payments dashboards (derived view), just not the configured glob.
    expect(await explicit.maySeeDashboard(principal('bob'), { name: 'p-overview', team: 'identity' })).toBe(false);
    expect(await explicit.maySeeDashboard(principal('bob'), { name: 'anything', team: 'payments' })).toBe(true);
  });

  it('dashboards: configured glob, ownership, platform-wide or admin', async () => {
    const alice = principal('alice');
    expect(await views.maySeeDashboard(alice, { name: 'payments-latency', team: 'checkout' })).toBe(true);
    expect(await views.maySeeDashboard(alice, { name: 'identity-overview', team: 'identity' })).toBe(false);
    expect(await views.maySeeDashboard(alice, { name: 'fleet', team: '' })).toBe(true);
    expect(await views.maySeeDashboard(principal('dave'), { name: 'identity-overview', team: 'checkout' })).toBe(true);
    expect(await views.maySeeDashboard(principal('erin'), { name: 'payments-latency', team: 'payments' })).toBe(false);
    expect(
      await views.maySeeDashboard(principal('erin', ['admin']), { name: 'payments-latency', team: 'payments' }),
    ).toBe(true);
  });

  it('logs: any one selector line that matches its label grants reading', async () => {
    const where = (namespace: string, service: string, env: string) => ({ namespace, service, env });
    expect(await views.mayReadLogs(principal('alice'), where('payments-staging', 'x', 'staging'))).toBe(true);
    expect(await views.mayReadLogs(principal('alice'), where('identity-staging', 'payments-api', 'staging'))).toBe(
      false,
    );
    expect(await views.mayReadLogs(principal('erin'), where('identity-prod', 'identity-api', 'prod'))).toBe(true);
    expect(await views.mayReadLogs(principal('erin'), where('payments-sandbox', 'payments-api', 'sandbox'))).toBe(true);
    expect(await views.mayReadLogs(principal('erin'), where('identity-prod', 'identity-worker', 'prod'))).toBe(false);
    expect(await views.mayReadLogs(principal('bob'), where('identity-prod', 'identity-api', 'prod'))).toBe(false);
  });

  it('a * view of one team does not reach anyone outside it', async () => {
    const wide = viewsOf([{ name: 'identity', views: { dashboards: ['*'], logs: { paths: ['service=*'] } } }]);
    expect(await wide.mayReadLogs(principal('dave'), { namespace: 'n', service: 'payments-api', env: 'e' })).toBe(true);
    expect(await wide.mayReadLogs(principal('alice'), { namespace: 'n', service: 'payments-api', env: 'e' })).toBe(
      false,
    );
    expect(await wide.maySeeDashboard(principal('alice'), { name: 'identity-x', team: 'identity' })).toBe(false);
  });

  it('follow Group membership as the directory changes (no restart)', async () => {
    const live = new Directory('platform');
    live.replaceWith(directory);
    const v = new TeamViews({
      teams: teams([{ name: 'identity', views: { logs: { paths: ['service=identity-api'] } } }]),
      groupMembers: (team) => live.membersOf(`group:default/${team}`).map((m) => shortRef(m.ref)),
    });
    const where = { namespace: 'n', service: 'identity-api', env: 'e' };
    expect(await v.mayReadLogs(principal('erin'), where)).toBe(false);
    live.replaceWith(
      Directory.fromEntities([user('erin', ['identity']), group('identity', ['erin', 'dave'])], 'platform'),
    );
    expect(await v.mayReadLogs(principal('erin'), where)).toBe(true);
  });

  it('no teams configured: no configured views', async () => {
    const none = viewsOf([]);
    expect(await none.forPrincipal(principal('alice'))).toEqual({ teams: [], dashboardGlobs: [], logSelectors: [] });
    expect(await none.mayReadLogs(principal('alice'), { namespace: 'a', service: 'b', env: 'c' })).toBe(false);
  });

  it('warn at start-up about teams that name no Group', () => {
    const warnings = unknownTeamWarnings(
      teams([{ name: 'payments' }, { name: 'ghosts' }, { name: 'contractors', members: ['erin'] }]),
      (t) => directory.groups.has(`group:default/${t}`),
    );
    expect(warnings).toEqual([
      'warning: observability.teams: "ghosts" is not a Group of the catalog; its views apply to nobody (no members listed)',
      'warning: observability.teams: "contractors" is not a Group of the catalog; its views apply only to its listed members (1)',
    ]);
  });
});

describe('config validation', () => {
  it.each(['payments-(a|b)', 'pay.*+', '[a-z]*', 'a{1,99}', '^payments$', 'pay\\d', 'Payments'])(
    'rejects the hostile glob %s with a clear message',
    (glob) => {
      const dash = ObservabilitySchema.safeParse({ teams: [{ name: 'payments', views: { dashboards: [glob] } }] });
      expect(dash.success).toBe(false);
      expect(dash.error?.issues[0]?.message).toContain('a name glob such as payments-*');
      const logs = ObservabilitySchema.safeParse({
        teams: [{ name: 'payments', views: { logs: { paths: [`service=${glob}`] } } }],
      });
      expect(logs.success).toBe(false);
      expect(logs.error?.issues[0]?.message).toContain('a log selector such as namespace=payments-*');
    },
  );
});
