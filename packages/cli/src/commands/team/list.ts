import type { TeamList, TeamSummary } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { displayRef } from '@idp/core/refs';

export default class TeamList_ extends BaseCommand<typeof TeamList_> {
  static override summary = 'List teams (catalog groups) with their member and owned-entity counts.';
  static override description =
    'Teams are the Group entities of the catalog. Members count people in child groups too.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    await this.render(
      await this.api.listTeams(),
      listSpec<TeamList, TeamSummary>(
        (list) => list.items,
        [
          { header: 'NAME', value: (t) => t.name },
          { header: 'DISPLAY NAME', value: (t) => t.displayName },
          { header: 'PARENT', value: (t) => (t.parent ? displayRef(t.parent) : null) },
          { header: 'MEMBERS', value: (t) => t.members },
          { header: 'OWNS', value: (t) => t.owns },
        ],
        'No teams: the catalog has no Group entities.',
      ),
    );
  }
}
