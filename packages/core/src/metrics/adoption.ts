import { buckets, inWindow, WEEK_MS, type Window } from './stats.ts';

/**
 * Adoption per team: who uses idp and for what, week by week, which services are ready to deploy
 * through it (a deploy.yaml) and which have been, and the teams not onboarded yet — old workflows
 * linger unless usage is tracked. Pure; times in epoch milliseconds.
 */

/** Requests a user made to one capability in one hour (the server counts them and stores hourly rows). */
export interface UsageCount {
  user: string;
  team: string | null;
  /** environments, deployments, secrets, access, catalog, templates, observability, … */
  capability: string;
  at: number;
  count: number;
}

export interface ServiceFact {
  service: string;
  team: string | null;
  hasDeployYaml: boolean;
  /** Deployed through idp at least once, ever. */
  deployed: boolean;
}

export interface TeamAdoption {
  team: string;
  activeUsers: number;
  commands: number;
  byCapability: Record<string, number>;
  weeks: { week: string; activeUsers: number; commands: number }[];
  services: { total: number; withDeployYaml: number; deployed: number };
  onboarded: boolean;
}

export interface AdoptionFigures {
  teams: TeamAdoption[];
  notOnboarded: string[];
}

/** `teams`: every team of the organisation, so a team with no usage at all is listed too. */
export function computeAdoption(
  usage: readonly UsageCount[],
  services: readonly ServiceFact[],
  teams: readonly string[],
  w: Window,
): AdoptionFigures {
  const weeks = buckets(w, WEEK_MS);
  const byTeam = new Map<
    string,
    { users: Set<string>; caps: Map<string, number>; weekUsers: Set<string>[]; weekCommands: number[] }
  >();
  const entry = (team: string) => {
    let e = byTeam.get(team);
    if (!e) {
      e = {
        users: new Set(),
        caps: new Map(),
        weekUsers: Array.from({ length: weeks.count }, () => new Set<string>()),
        weekCommands: new Array<number>(weeks.count).fill(0),
      };
      byTeam.set(team, e);
    }
    return e;
  };
  for (const t of teams) entry(t);
  for (const u of usage) {
    if (!inWindow(u.at, w) || u.team === null || u.count <= 0) continue;
    const e = entry(u.team);
    const k = weeks.bucketOf(u.at);
    e.users.add(u.user);
    e.caps.set(u.capability, (e.caps.get(u.capability) ?? 0) + u.count);
    e.weekUsers[k]!.add(u.user);
    e.weekCommands[k]! += u.count;
  }
  const rows: TeamAdoption[] = [...byTeam]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([team, e]) => {
      const own = services.filter((s) => s.team === team);
      const deployed = own.filter((s) => s.deployed).length;
      const commands = [...e.caps.values()].reduce((a, b) => a + b, 0);
      return {
        team,
        activeUsers: e.users.size,
        commands,
        byCapability: Object.fromEntries([...e.caps].sort(([a], [b]) => a.localeCompare(b))),
        weeks: e.weekUsers.map((users, i) => ({
          week: new Date(w.from + i * WEEK_MS).toISOString().slice(0, 10),
          activeUsers: users.size,
          commands: e.weekCommands[i]!,
        })),
        services: { total: own.length, withDeployYaml: own.filter((s) => s.hasDeployYaml).length, deployed },
        onboarded: e.users.size > 0 || deployed > 0,
      };
    });
  return { teams: rows, notOnboarded: rows.filter((r) => !r.onboarded).map((r) => r.team) };
}
