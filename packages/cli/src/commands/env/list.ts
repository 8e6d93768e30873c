import { Flags } from '@oclif/core';
import type { Environment } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { ageOf, environmentView, expiresIn, pullRequestOf } from '../../env-format.ts';
import { listSpec } from '../../output.ts';

export default class EnvList extends BaseCommand<typeof EnvList> {
  static override summary =
    "List environments: yours and your teams' pull request previews (the default), or every one you may see with --all, base environments included.";
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'Every environment you may see, base ones (staging, production) included.',
      command: '<%= config.bin %> <%= command.id %> --all',
    },
    '<%= config.bin %> <%= command.id %> --all -o json',
  ];
  static override flags = {
    mine: Flags.boolean({
      summary: "Only yours and your teams' pull request previews (the default).",
      exclusive: ['all'],
    }),
    all: Flags.boolean({ summary: 'Every environment you may see, base environments included.', exclusive: ['mine'] }),
    'include-deleted': Flags.boolean({ summary: 'Also the records of deleted environments.' }),
  };

  async run(): Promise<void> {
    const list = await this.api.listEnvironments({
      scope: this.flags.all ? 'all' : 'mine',
      ...(this.flags['include-deleted'] ? { includeDeleted: true } : {}),
    });
    const now = Date.now();
    // json/yaml print the same view as env:get, in the API's {items} wrapper.
    const views = { items: list.items.map(environmentView) };
    await this.render(
      views,
      listSpec<typeof views, Environment>(
        () => list.items,
        [
          { header: 'NAME', value: (e) => e.name },
          { header: 'KIND', value: (e) => e.kind },
          { header: 'OWNER', value: (e) => e.owner },
          { header: 'SOURCE', value: (e) => e.sourceEnv },
          { header: 'STATUS', value: (e) => e.status },
          { header: 'AGE', value: (e) => ageOf(e, now) },
          { header: 'EXPIRES', value: (e) => expiresIn(e, now) },
          { header: 'PULL REQUEST', value: (e) => pullRequestOf(e) },
        ],
        this.flags.all
          ? 'No environments you may see.'
          : 'You have no environments; create one with `idp env:create --name=NAME --from=staging`.',
      ),
    );
  }
}
