import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DashboardSpec, Principal } from '@idp/contracts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { DashboardRegistry } from './dashboards.ts';
import { TeamViews } from './team-views.ts';

const t = tempSqliteStore('dashboards');
const root = mkdtempSync(join(tmpdir(), 'idp-dash-releases-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SERVICES = [
  { service: 'payments', team: 'payments' },
  { service: 'payments-api', team: 'payments' },
  { service: 'identity-api', team: 'identity' },
];
const principal = (name: string, teams: string[], roles: Principal['roles'] = ['member']): Principal => ({
  ref: `user:default/${name}`,
  name,
  email: null,
  displayName: null,
  teams,
  roles,
  tokenId: null,
});
const alice = principal('alice', ['payments']);
const dave = principal('dave', ['identity']);
const admin = principal('root', [], ['admin']);

const panel = (query: string) => ({ title: 'p', query, unit: 'none' as const });
const CONFIG: DashboardSpec[] = [
  { name: 'platform-overview', panels: [panel('sum(up)')] },
  { name: 'payments-slo', team: 'payments', panels: [panel('sum(rate(idp_proxy_requests_total{env="$env"}[5m]))')] },
  { name: 'payments-api', panels: [panel('up')] },
  { name: 'broken', panels: [panel('sum(rate(x[1m])')] },
];

let seq = 0;
/** A release of `service` unpacked at a folder holding `files`, with a healthy deployment. */
async function deployedRelease(service: string, files: Record<string, string>, links: Record<string, string> = {}) {
  const version = `v${++seq}`;
  const dir = join(root, `${service}-${version}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  mkdirSync(dir, { recursive: true });
  const at = new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString();
  const db = t.store.db;
  await db
    .insertInto('releases')
    .values({
      service,
      version,
      commit_sha: 'a'.repeat(40),
      digest: String(seq),
      size_bytes: 1,
      status: 'built',
      created_at: at,
      created_by: 'user:default/alice',
      build_ms: 1,
      build_output: null,
      spec: '{}',
      dir,
      inferred: null,
    })
    .execute();
  await db
    .insertInto('deployments')
    .values({
      id: `d${seq}`,
      service,
      env: 'staging',
      namespace: 'staging',
      version,
      previous_version: null,
      kind: 'deploy',
      strategy: 'rolling',
      status: 'healthy',
      reason: null,
      state: '{}',
      promotes: 0,
      abort_requested: 0,
      processes: null,
      created_at: at,
      created_by: 'user:default/alice',
      finished_at: at,
    })
    .execute();
  return { version, dir };
}

const DASH = (name: string, query = 'sum(rate(idp_proxy_requests_total{service="$service",env="$env"}[1m]))') =>
  `name: ${name}\npanels:\n  - {title: Traffic, query: '${query}', unit: req/s}\n`;

function registry(log: string[] = []) {
  const views = new TeamViews({
    teams: [
      {
        name: 'identity',
        members: ['dave'],
        views: { dashboards: ['payments-s*'], logs: { paths: [] } },
      },
    ],
    groupMembers: () => [],
  });
  return new DashboardRegistry({
    db: t.store.db,
    services: async () => SERVICES,
    config: CONFIG,
    visibility: views,
    limits: { maxQueryBytes: 4096 },
    log: (line) => log.push(line),
  });
}

describe('DashboardRegistry', () => {
  it('generates one dashboard per service and serves the valid config ones, refusing a taken name and a bad query', async () => {
    const log: string[] = [];
    const { dashboards, problems } = await registry(log).all();
    expect(dashboards.map((d) => [d.spec.name, d.source, d.team])).toEqual([
      ['payments', 'generated', 'payments'],
      ['payments-api', 'generated', 'payments'],
      ['identity-api', 'generated', 'identity'],
      ['platform-overview', 'config', ''],
      ['payments-slo', 'config', 'payments'],
    ]);
    expect(problems.map((p) => [p.file, p.field, p.message])).toEqual([
      ['observability.dashboards[3]', 'panels[0].query', expect.stringMatching(/parse error/)],
      [
        'observability.dashboards[2]',
        'name',
        'the name "payments-api" is taken by the generated dashboard of the service payments-api',
      ],
    ]);
    expect(log.join('\n')).toContain('dashboard broken of the config is not served');
  });

  it("lists each caller's dashboards: own team, platform-wide, and a view's glob", async () => {
    const r = registry();
    const names = async (p: Principal) => (await r.list(p)).items.map((i) => i.name);
    expect(await names(alice)).toEqual(['payments', 'payments-api', 'payments-slo', 'platform-overview']);
    expect(await names(dave)).toEqual(['identity-api', 'payments-slo', 'platform-overview']);
    expect((await names(admin)).length).toBe(5);
    await expect(r.get(dave, 'payments-api')).rejects.toMatchObject({ code: 'OBSERVABILITY_DASHBOARD_NOT_FOUND' });
    await expect(r.get(dave, 'nothing-here')).rejects.toMatchObject({ code: 'OBSERVABILITY_DASHBOARD_NOT_FOUND' });
    expect((await r.get(dave, 'payments-slo')).spec.name).toBe('payments-slo');
    // Refusals are shown to their team and admins only.
    expect((await r.list(dave)).problems).toBeUndefined();
    expect((await r.list(admin)).problems).toHaveLength(2);
  });

  it("serves a deployed release's .idp/dashboards as its owner's, and reports what it refuses", async () => {
    const { version } = await deployedRelease('payments-api', {
      '.idp/dashboards/latency.yaml': DASH('payments-api-latency'),
      '.idp/dashboards/thief.yaml': DASH('identity-api-stolen'),
      '.idp/dashboards/bad.yml': 'name: payments-api-bad\npanels:\n  - title: x\n    qurey: up\n',
      '.idp/dashboards/notes.txt': 'not a dashboard',
      '.idp/dashboards/twice.yaml': DASH('payments-api-latency'),
    });
    const r = registry();
    const { dashboards, problems } = await r.all();
    const repo = dashboards.filter((d) => d.source === 'repository');
    expect(repo.map((d) => [d.spec.name, d.team, d.spec.service, d.release])).toEqual([
      ['payments-api-latency', 'payments', 'payments-api', version],
    ]);
    const byFile = Object.fromEntries(problems.filter((p) => p.source === 'repository').map((p) => [p.file, p]));
    expect(byFile['.idp/dashboards/bad.yml']).toMatchObject({ line: 4, field: 'panels[0].qurey', didYouMean: 'query' });
    expect(byFile['.idp/dashboards/thief.yaml']!.message).toContain('does not start with "payments-api-"');
    expect(byFile['.idp/dashboards/twice.yaml']!.message).toBe(
      'the name "payments-api-latency" is taken by a dashboard of payments-api\'s repository',
    );
    expect((await r.list(alice)).items.map((i) => i.name)).toContain('payments-api-latency');
    expect((await r.list(dave)).items.map((i) => i.name)).not.toContain('payments-api-latency');
    expect(new Set((await r.list(alice)).problems?.map((p) => p.file))).toEqual(
      new Set(['.idp/dashboards/bad.yml', '.idp/dashboards/thief.yaml', '.idp/dashboards/twice.yaml']),
    );
  });

  it("refuses a name under another service's prefix, links, and reads only the newest deployed release", async () => {
    await deployedRelease('payments', {
      '.idp/dashboards/a.yaml': DASH('payments-api-fake'),
      '.idp/dashboards/b.yaml': DASH('payments-own'),
    });
    const outside = join(root, 'outside.yaml');
    writeFileSync(outside, DASH('payments-secret'));
    await deployedRelease('identity-api', {}, { '.idp/dashboards/link.yaml': outside });
    const { dashboards, problems } = await registry().all();
    expect(dashboards.map((d) => d.spec.name)).toContain('payments-own');
    expect(dashboards.map((d) => d.spec.name)).not.toContain('payments-api-fake');
    expect(problems.find((p) => p.service === 'payments')?.message).toContain('another service (payments-api)');
    expect(problems.find((p) => p.service === 'identity-api')?.message).toMatch(/symbolic link/);
    expect(dashboards.map((d) => d.spec.name)).not.toContain('payments-secret');

    // A newer release without the file: its dashboards are the ones served.
    await deployedRelease('payments-api', { '.idp/dashboards/x.yaml': DASH('payments-api-new') });
    const again = await registry().all();
    const repo = again.dashboards.filter((d) => d.spec.service === 'payments-api' && d.source === 'repository');
    expect(repo.map((d) => d.spec.name)).toEqual(['payments-api-new']);
  });

  it('reads at most 20 files of a release, and a linked .idp/dashboards folder not at all', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 22; i++) files[`.idp/dashboards/d${String(i).padStart(2, '0')}.yaml`] = DASH(`payments-d${i}`);
    await deployedRelease('payments', files);
    const { dashboards, problems } = await registry().all();
    expect(dashboards.filter((d) => d.spec.service === 'payments' && d.source === 'repository')).toHaveLength(20);
    expect(problems.filter((p) => /at most 20/.test(p.message)).map((p) => p.file)).toEqual([
      '.idp/dashboards/d20.yaml',
      '.idp/dashboards/d21.yaml',
    ]);
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, 'x.yaml'), DASH('identity-api-x'));
    await deployedRelease('identity-api', {}, { '.idp/dashboards': elsewhere });
    const linked = await registry().all();
    expect(linked.dashboards.map((d) => d.spec.name)).not.toContain('identity-api-x');
    expect(linked.problems.find((p) => p.service === 'identity-api')?.message).toContain('symbolic link');
  });
});
