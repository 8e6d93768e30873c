// What each team sees beyond what it owns: observability.teams in idp.config.yaml names, per team,
// dashboard name globs and log selectors (namespace|service|env = glob). A team's views apply to
// its `members` when the entry lists them, else to the members of the catalog's Group of that
// name (members of its child groups included, as the directory counts membership). Ownership
// (the dashboard's or service's team among the principal's teams) is the view every team has
// without an entry; the views configured here only add to it.
//
// Globs know `*` (any run of characters) and `?` (one character), match the whole name, and are
// parsed once into literal pieces: no user text ever becomes a regular expression, and a match
// costs at most (name length × glob length) steps whatever the glob.
import type { Principal } from '@idp/contracts';
import { shortRef } from '@idp/core';
import type { TeamViewsConfig } from '../../config/index.ts';

export type LogSelector = { label: 'namespace' | 'service' | 'env'; glob: string };

export interface PrincipalViews {
  /** Teams whose configured views apply to the principal (explicit members, or Group membership when members is omitted). */
  teams: string[];
  /** Dashboard name globs from those views. */
  dashboardGlobs: string[];
  /** Log selectors from those views. */
  logSelectors: LogSelector[];
}

export interface TeamViewsDeps {
  teams: TeamViewsConfig[];
  /** User names (refs' short names) of a Group, members of its child groups included; [] for no such Group. */
  groupMembers(team: string): Promise<string[]> | string[];
}

const LOG_LABELS = ['namespace', 'service', 'env'] as const;

/** A glob parsed once: the literal pieces between wildcards, `?` kept as a one-character wildcard. */
export class Glob {
  private readonly tokens: string[];

  constructor(readonly text: string) {
    // Runs of `*` are one `*`: `a**b` matches as `a*b` (and keeps the matcher linear in stars).
    this.tokens = [...text.replace(/\*+/g, '*')];
  }

  /** The whole name matches the glob (case-sensitive). */
  matches(name: string): boolean {
    const p = this.tokens;
    let i = 0;
    let j = 0;
    let star = -1;
    let resume = 0;
    while (i < name.length) {
      if (j < p.length && p[j] !== '*' && (p[j] === '?' || p[j] === name[i])) {
        i++;
        j++;
      } else if (j < p.length && p[j] === '*') {
        star = j++;
        resume = i;
      } else if (star >= 0) {
        j = star + 1;
        i = ++resume;
      } else {
        return false;
      }
    }
    while (j < p.length && p[j] === '*') j++;
    return j === p.length;
  }
}

interface CompiledSelector extends LogSelector {
  matcher: Glob;
}

interface CompiledTeam {
  name: string;
  /** Normalized user names; undefined: the Group's members. */
  members: Set<string> | undefined;
  dashboards: Glob[];
  selectors: CompiledSelector[];
}

/** `alice`, `user:alice`, `user:default/alice` and `default/alice` all name the user `alice` (names compare case-insensitively, as the catalog's do). */
function userName(text: string): string {
  const bare = text
    .trim()
    .toLowerCase()
    .replace(/^user:/, '');
  return bare.startsWith('default/') ? bare.slice('default/'.length) : bare;
}

/** `namespace=payments-*` as a selector; undefined for a line the config schema would not accept. */
export function parseLogSelector(line: string): LogSelector | undefined {
  const eq = line.indexOf('=');
  if (eq <= 0) return undefined;
  const label = line.slice(0, eq);
  const glob = line.slice(eq + 1);
  if (!(LOG_LABELS as readonly string[]).includes(label) || glob.length === 0) return undefined;
  return { label: label as LogSelector['label'], glob };
}

export class TeamViews {
  private readonly teams: CompiledTeam[];

  constructor(private readonly deps: TeamViewsDeps) {
    this.teams = deps.teams.map((team) => ({
      name: team.name,
      members: team.members === undefined ? undefined : new Set(team.members.map(userName)),
      dashboards: team.views.dashboards.map((glob) => new Glob(glob)),
      selectors: team.views.logs.paths.flatMap((line) => {
        const selector = parseLogSelector(line);
        return selector ? [{ ...selector, matcher: new Glob(selector.glob) }] : [];
      }),
    }));
  }

  /** The configured teams' names, in config order. */
  configuredTeams(): string[] {
    return this.teams.map((team) => team.name);
  }

  /** The configured views that apply to the principal. */
  async forPrincipal(principal: Principal): Promise<PrincipalViews> {
    const applied = await this.appliedTo(principal);
    return {
      teams: applied.map((team) => team.name),
      dashboardGlobs: [...new Set(applied.flatMap((team) => team.dashboards.map((glob) => glob.text)))],
      logSelectors: dedupe(applied.flatMap((team) => team.selectors.map(({ label, glob }) => ({ label, glob })))),
    };
  }

  /** True when a view the principal has selects this dashboard (name glob), or the dashboard's team is one of principal.teams (ownership), or it has no team (platform-wide), or the principal is admin. */
  async maySeeDashboard(principal: Principal, dashboard: { name: string; team: string }): Promise<boolean> {
    if (principal.roles.includes('admin')) return true;
    if (dashboard.team === '' || principal.teams.includes(dashboard.team)) return true;
    const applied = await this.appliedTo(principal);
    return applied.some((team) => team.dashboards.some((glob) => glob.matches(dashboard.name)));
  }

  /** True when any log selector of a view the principal has matches its label's value (one matching line is enough). */
  async mayReadLogs(
    principal: Principal,
    where: { namespace: string; service: string; env: string },
  ): Promise<boolean> {
    const applied = await this.appliedTo(principal);
    return applied.some((team) => team.selectors.some((s) => s.matcher.matches(where[s.label])));
  }

  private async appliedTo(principal: Principal): Promise<CompiledTeam[]> {
    if (this.teams.length === 0) return [];
    let name: string;
    try {
      name = userName(shortRef(principal.ref));
    } catch {
      return [];
    }
    const out: CompiledTeam[] = [];
    for (const team of this.teams) {
      const members = team.members ?? new Set((await this.deps.groupMembers(team.name)).map(userName));
      if (members.has(name)) out.push(team);
    }
    return out;
  }
}

function dedupe(selectors: LogSelector[]): LogSelector[] {
  const seen = new Set<string>();
  return selectors.filter((s) => {
    const key = `${s.label}=${s.glob}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Start-up warnings: configured teams that name no Group of the catalog (their views apply only to listed members). */
export function unknownTeamWarnings(teams: TeamViewsConfig[], isGroup: (name: string) => boolean): string[] {
  return teams
    .filter((team) => !isGroup(team.name))
    .map(
      (team) =>
        `warning: observability.teams: "${team.name}" is not a Group of the catalog; ${
          team.members === undefined
            ? 'its views apply to nobody (no members listed)'
            : `its views apply only to its listed members (${team.members.length})`
        }`,
    );
}
