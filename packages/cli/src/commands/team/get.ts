import { Args } from '@oclif/core';
import type { Team } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTeam } from '../../catalog-format.ts';

export default class TeamGet extends BaseCommand<typeof TeamGet> {
  static override summary =
    'Show a team: its members (direct or through a child group), what it owns, and its on-call contact.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments',
    { description: 'As YAML.', command: '<%= config.bin %> <%= command.id %> group:default/payments -o yaml' },
  ];
  static override args = {
    name: Args.string({
      description: 'Team name or group ref, e.g. payments or group:default/payments.',
      required: true,
    }),
  };

  async run(): Promise<void> {
    await this.render<Team>(await this.api.getTeam(this.args.name), { kind: 'text', text: formatTeam });
  }
}
