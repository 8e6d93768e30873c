// Dashboards as code: where dashboards come from (generated per service, the platform config, a
// service's deployed release) and who sees which. Evaluation is dashboard-data.ts.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  IdpError,
  type DashboardList,
  type DashboardProblemReport,
  type DashboardSource,
  type DashboardSpec,
  type DashboardSummary,
  type Principal,
} from '@idp/contracts';
import { dashboardQueryProblems, goldenDashboard, parseDashboardYaml, shortRef, type ScopeLimits } from '@idp/core';
import type { Database } from '../../store/index.ts';
import { readReleaseFile } from '../deployments/archive.ts';

/** A dashboard as served: its spec (team resolved) and where it came from. */
export interface LoadedDashboard {
  spec: DashboardSpec;
  /** The owning team; "" for a platform-wide dashboard. */
  team: string;
  source: DashboardSource;
  /** Where it is defined: `observability.dashboards[2]`, `.idp/dashboards/x.yaml`; "" when generated. */
  file: string;
  /** The release a repository's dashboard was read from. */
  release?: string;
}

/** Who sees which dashboard: TeamViews (team-views.ts), or anything with its maySeeDashboard. */
export interface DashboardVisibility {
  maySeeDashboard(principal: Principal, dashboard: { name: string; team: string }): Promise<boolean>;
}

export interface DashboardRegistryDeps {
  db: Kysely<Database>;
  /** The catalog's Components (services) with their owning team's short name. */
  services(): Promise<Array<{ service: string; team: string }>>;
  /** observability.dashboards of the config. */
  config: readonly DashboardSpec[];
  visibility: DashboardVisibility;
  /** The query gate's limits: a panel the gate would refuse is refused at load. */
  limits: ScopeLimits;
  log?: (line: string) => void;
}

/** Where a repository keeps its dashboards, inside the service directory of a release. */
export const REPO_DASHBOARD_DIR = '.idp/dashboards';
/** Files read from one release (more are reported, not read), and the size of each. */
export const MAX_REPO_DASHBOARD_FILES = 20;
export const MAX_REPO_DASHBOARD_BYTES = 64 * 1024;
const MAX_CACHED_RELEASES = 1_000;

interface ReleaseDashboards {
  dashboards: LoadedDashboard[];
  problems: DashboardProblemReport[];
}

/**
 * Every dashboard, worked out per request from the catalog (one generated golden-signal
 * dashboard per service, named after it), the config, and the dashboards of each service's
 * newest built release that has been deployed healthy (parsed once per release: releases never
 * change). Names are unique: generated ones win, then the config's, then the repositories'; a
 * later one under a taken name is refused with a note.
 */
export class DashboardRegistry {
  private readonly releases = new Map<string, Promise<ReleaseDashboards>>();
  private readonly configured: ReleaseDashboards;
  private readonly logged = new Set<string>();

  constructor(private readonly deps: DashboardRegistryDeps) {
    this.configured = this.loadConfig();
  }

  /** Every dashboard and every refused definition, before visibility. */
  async all(): Promise<{ dashboards: LoadedDashboard[]; problems: DashboardProblemReport[] }> {
    const services = await this.deps.services();
    const taken = new Map<string, string>();
    const dashboards: LoadedDashboard[] = [];
    const problems: DashboardProblemReport[] = [];
    const refuse = (d: LoadedDashboard, why: string) => {
      problems.push({
        code: 'OBSERVABILITY_DASHBOARD_INVALID',
        source: d.source,
        team: d.team,
        ...(d.spec.service ? { service: d.spec.service } : {}),
        ...(d.release ? { release: d.release } : {}),
        file: d.file,
        line: 1,
        column: 1,
        field: 'name',
        message: why,
        hint: 'Give it another name: names are unique, a service name is its generated dashboard, and a repository names its dashboards <service>-….',
      });
      this.logOnce(`observability: dashboard ${d.spec.name} (${d.file}) is not served: ${why}`);
    };
    for (const { service, team } of services) {
      dashboards.push({ spec: goldenDashboard({ service, team }), team, source: 'generated', file: '' });
      taken.set(service, `the generated dashboard of the service ${service}`);
    }
    const serviceNames = services.map((s) => s.service);
    const candidates: LoadedDashboard[] = [...this.configured.dashboards];
    problems.push(...this.configured.problems);
    for (const release of await this.deployedReleases(new Set(serviceNames))) {
      const loaded = await this.releaseDashboards(release, services);
      problems.push(...loaded.problems);
      for (const d of loaded.dashboards) {
        // payments' repository may not name a dashboard payments-api-…: that prefix is payments-api's.
        const owner = longestServicePrefix(d.spec.name, serviceNames);
        if (owner === d.spec.service) candidates.push(d);
        else refuse(d, `"${d.spec.name}" starts with the name of another service (${owner})`);
      }
    }
    for (const d of candidates) {
      const holder = taken.get(d.spec.name);
      if (holder !== undefined) {
        refuse(d, `the name "${d.spec.name}" is taken by ${holder}`);
        continue;
      }
      taken.set(
        d.spec.name,
        d.source === 'config' ? `the config's ${d.file}` : `a dashboard of ${d.spec.service}'s repository`,
      );
      dashboards.push(d);
    }
    return { dashboards, problems };
  }

  /** The dashboards `principal` may see, and the refused definitions of those teams. */
  async list(principal: Principal): Promise<DashboardList> {
    const { dashboards, problems } = await this.all();
    const items: DashboardSummary[] = [];
    for (const d of dashboards) {
      if (await this.deps.visibility.maySeeDashboard(principal, { name: d.spec.name, team: d.team })) {
        items.push(summaryOf(d));
      }
    }
    items.sort((a, b) => a.name.localeCompare(b.name));
    const shown: DashboardProblemReport[] = [];
    for (const p of problems) {
      if (principal.roles.includes('admin') || (p.team !== '' && principal.teams.includes(p.team))) shown.push(p);
    }
    return shown.length > 0 ? { items, problems: shown } : { items };
  }

  /** The dashboard named `name` if `principal` may see it; OBSERVABILITY_DASHBOARD_NOT_FOUND otherwise, either way. */
  async get(principal: Principal, name: string): Promise<LoadedDashboard> {
    const { dashboards } = await this.all();
    const found = dashboards.find((d) => d.spec.name === name);
    if (found && (await this.deps.visibility.maySeeDashboard(principal, { name, team: found.team }))) return found;
    throw new IdpError('OBSERVABILITY_DASHBOARD_NOT_FOUND', `no dashboard ${JSON.stringify(name.slice(0, 100))}`, {
      name: name.slice(0, 100),
    });
  }

  /** all() runs per request: a refusal is logged the first time only. */
  private logOnce(line: string): void {
    if (this.logged.has(line)) return;
    if (this.logged.size >= MAX_CACHED_RELEASES) this.logged.clear();
    this.logged.add(line);
    this.deps.log?.(line);
  }

  private loadConfig(): ReleaseDashboards {
    const out: ReleaseDashboards = { dashboards: [], problems: [] };
    this.deps.config.forEach((spec, i) => {
      const team = spec.team ?? '';
      const problems = dashboardQueryProblems(spec, this.deps.limits);
      for (const p of problems) {
        out.problems.push({
          code: 'OBSERVABILITY_DASHBOARD_INVALID',
          source: 'config',
          team,
          ...(spec.service ? { service: spec.service } : {}),
          file: `observability.dashboards[${i}]`,
          line: 1,
          column: (p.offset ?? 0) + 1,
          field: `panels[${p.panel}].query`,
          message: p.message,
          ...(p.hint ? { hint: p.hint } : {}),
          ...(p.didYouMean ? { didYouMean: p.didYouMean } : {}),
        });
      }
      if (problems.length > 0) {
        this.deps.log?.(`observability: dashboard ${spec.name} of the config is not served: ${problems[0]!.message}`);
        return;
      }
      out.dashboards.push({ spec, team, source: 'config', file: `observability.dashboards[${i}]` });
    });
    return out;
  }

  /** Per service, its newest built release that has been deployed healthy (somewhere). */
  private async deployedReleases(
    services: ReadonlySet<string>,
  ): Promise<Array<{ service: string; version: string; dir: string }>> {
    const rows = await this.deps.db
      .selectFrom('releases as r')
      .innerJoin('deployments as d', (join) =>
        join.onRef('d.service', '=', 'r.service').onRef('d.version', '=', 'r.version'),
      )
      .where('d.status', '=', 'healthy')
      .where('r.status', '=', 'built')
      .select(['r.service', 'r.version', 'r.dir', 'r.created_at'])
      .distinct()
      .orderBy('r.created_at', 'desc')
      .orderBy('r.version', 'desc')
      .execute();
    const newest = new Map<string, { service: string; version: string; dir: string }>();
    for (const row of rows) {
      if (services.has(row.service) && !newest.has(row.service)) newest.set(row.service, row);
    }
    return [...newest.values()].sort((a, b) => a.service.localeCompare(b.service));
  }

  /** A release's dashboards, parsed once (releases are immutable); its team is read each time. */
  private async releaseDashboards(
    release: { service: string; version: string; dir: string },
    services: ReadonlyArray<{ service: string; team: string }>,
  ): Promise<ReleaseDashboards> {
    const team = services.find((s) => s.service === release.service)?.team ?? '';
    const key = `${release.service}@${release.version}\0${team}`;
    let cached = this.releases.get(key);
    if (!cached) {
      cached = this.readRelease(release, team);
      if (this.releases.size >= MAX_CACHED_RELEASES) this.releases.delete(this.releases.keys().next().value!);
      this.releases.set(key, cached);
      cached.catch(() => this.releases.delete(key));
    }
    return cached;
  }

  private async readRelease(
    release: { service: string; version: string; dir: string },
    team: string,
  ): Promise<ReleaseDashboards> {
    const out: ReleaseDashboards = { dashboards: [], problems: [] };
    const report = (file: string, p: Omit<DashboardProblemReport, 'code' | 'source' | 'team' | 'file'>) => {
      out.problems.push({
        code: 'OBSERVABILITY_DASHBOARD_INVALID',
        source: 'repository',
        team,
        service: release.service,
        release: release.version,
        file,
        ...p,
      });
      this.deps.log?.(
        `observability: ${release.service} ${release.version} ${file}:${p.line}:${p.column} is not served: ${p.message}`,
      );
    };
    const files = await listDashboardFiles(release.dir);
    if (files.unsafe) {
      report(REPO_DASHBOARD_DIR, { line: 1, column: 1, field: '', message: files.unsafe, hint: UNSAFE_HINT });
      return out;
    }
    for (const name of files.names.slice(MAX_REPO_DASHBOARD_FILES)) {
      report(`${REPO_DASHBOARD_DIR}/${name}`, {
        line: 1,
        column: 1,
        field: '',
        message: `not read: a release is read for at most ${MAX_REPO_DASHBOARD_FILES} dashboard files`,
        hint: 'Put several panels in one dashboard, or remove dashboards nobody opens.',
      });
    }
    for (const name of files.names.slice(0, MAX_REPO_DASHBOARD_FILES)) {
      const file = `${REPO_DASHBOARD_DIR}/${name}`;
      let text: string | null;
      try {
        text = await readReleaseFile(release.dir, file, MAX_REPO_DASHBOARD_BYTES);
      } catch (err) {
        if (!(err instanceof IdpError)) throw err;
        report(file, { line: 1, column: 1, field: '', message: err.message, hint: UNSAFE_HINT });
        continue;
      }
      if (text === null) continue;
      const parsed = parseDashboardYaml(text, { file, limits: this.deps.limits, service: release.service, team });
      if (!parsed.ok) {
        for (const p of parsed.problems) report(file, withoutFile(p));
        continue;
      }
      out.dashboards.push({ spec: parsed.spec, team, source: 'repository', file, release: release.version });
    }
    return out;
  }
}

const UNSAFE_HINT =
  'Dashboards are regular YAML files in .idp/dashboards/ of the service directory, never links; at most 64 KiB each.';

/** The `.yaml`/`.yml` names in .idp/dashboards, sorted; `unsafe` when a folder on the way is a link or not a folder. */
async function listDashboardFiles(dir: string): Promise<{ names: string[]; unsafe?: string }> {
  let at = dir;
  for (const part of REPO_DASHBOARD_DIR.split('/')) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (!st) return { names: [] };
    if (st.isSymbolicLink()) return { names: [], unsafe: `${REPO_DASHBOARD_DIR} is reached through a symbolic link` };
    if (!st.isDirectory()) return { names: [], unsafe: `${REPO_DASHBOARD_DIR} is not a folder` };
  }
  const entries = await readdir(at, { withFileTypes: true });
  const names = entries
    .filter((e) => /^[^.].*\.ya?ml$/.test(e.name) && !e.isDirectory())
    .map((e) => e.name)
    .sort();
  return { names };
}

/** The longest service name that `name` is, or starts with followed by `-`. */
function longestServicePrefix(name: string, services: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const s of services) {
    if ((name === s || name.startsWith(`${s}-`)) && (best === undefined || s.length > best.length)) best = s;
  }
  return best;
}

function withoutFile<T extends { file: string }>(p: T): Omit<T, 'file'> {
  const { file: _file, ...rest } = p;
  return rest;
}

function summaryOf(d: LoadedDashboard): DashboardSummary {
  return {
    name: d.spec.name,
    title: d.spec.title ?? d.spec.name,
    team: d.team,
    source: d.source,
    ...(d.spec.service ? { service: d.spec.service } : {}),
    panels: d.spec.panels.length,
  };
}

/** The catalog's Components in the default namespace with an owner: the services dashboards are generated for. */
export async function catalogServices(catalog: {
  graph(): Promise<{ kinds: ReadonlyMap<string, string>; ownerOf(ref: string): string | null }>;
}): Promise<Array<{ service: string; team: string }>> {
  const graph = await catalog.graph();
  const out: Array<{ service: string; team: string }> = [];
  for (const [ref, kind] of graph.kinds) {
    if (kind !== 'component' || !ref.startsWith('component:default/')) continue;
    const owner = graph.ownerOf(ref);
    if (owner) out.push({ service: ref.slice('component:default/'.length), team: shortRef(owner) });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}
