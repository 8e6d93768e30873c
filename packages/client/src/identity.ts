import type { Principal, Team, TeamList } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** Who the caller is, and the teams of the directory. */
export class IdentityApi extends ApiModule {
  whoami(): Promise<Principal> {
    return this.http.request('GET', '/api/whoami');
  }

  listTeams(): Promise<TeamList> {
    return this.http.request('GET', '/api/teams');
  }

  getTeam(name: string): Promise<Team> {
    return this.http.request('GET', `/api/teams/${encodeURIComponent(name)}`);
  }
}
