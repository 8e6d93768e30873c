import { Args, Flags } from '@oclif/core';
import { IdpError, type DashboardData, type DashboardList } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { useColour } from '../logs-format.ts';
import { listSpec } from '../output.ts';
import { formatDashboard, formatProblem } from '../render/dash-format.ts';
import { terminalWidth } from '../render/sparkline.ts';

export default class Dash extends BaseCommand<typeof Dash> {
  static override summary = 'Dashboards in the terminal: list those you see, or show one with a sparkline per series.';
  static override description = [
    'Without NAME, lists the dashboards you see: the golden signals generated for each service, the platform',
    'config’s and those in services’ repositories (.idp/dashboards/). With NAME (or a service, for its generated',
    'dashboard) and --env, shows each panel: its title and unit, then one line per series with its legend name, a',
    'sparkline over --since (a space where there was no sample) and its last value in the unit. Every panel is',
    'queried as you, so it shows only what you may read; a panel that failed says why in its place.',
    '-o json prints the API object.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'payments-api’s golden signals in staging over the last hour (as alice@company.com).',
      command: '<%= config.bin %> <%= command.id %> payments-api --env=staging',
    },
    '<%= config.bin %> <%= command.id %> payments-overview --env=production --since=6h -o json',
  ];
  static override args = {
    name: Args.string({ description: 'A dashboard, or a service (its generated dashboard); none: list them.' }),
  };
  static override flags = {
    env: Flags.string({ summary: 'The environment the panels show, e.g. staging (required with NAME).' }),
    since: Flags.string({ summary: 'How far back, e.g. 15m, 1h (default) or 2d.' }),
    points: Flags.integer({ summary: 'Points per series, 2 to 500 (default 60).', min: 2, max: 500 }),
  };

  async run(): Promise<void> {
    const { env, since, points } = this.flags;
    const name = this.args.name;
    if (name === undefined) {
      if (env !== undefined || since !== undefined || points !== undefined) {
        throw new IdpError('USAGE', '--env, --since and --points go with a dashboard NAME', {
          field: 'name',
          hint: 'Run `idp dash` to see the names, then `idp dash payments-api --env=staging`.',
        });
      }
      return this.list();
    }
    if (env === undefined) {
      throw new IdpError('USAGE', `which environment should ${name} show? --env is required with NAME`, {
        field: 'env',
        hint: `Run \`idp dash ${name} --env=staging\`.`,
      });
    }
    const data = await this.api.dashboard(name, { env, since, points });
    await this.render<DashboardData>(data, {
      kind: 'text',
      text: (d) => formatDashboard(d, { columns: terminalWidth(), colour: useColour(process.stdout) }),
    });
  }

  private async list(): Promise<void> {
    const list = await this.api.dashboards();
    await this.render<DashboardList>(
      list,
      listSpec(
        (l) => l.items,
        [
          { header: 'NAME', value: (d) => d.name },
          { header: 'TITLE', value: (d) => d.title },
          { header: 'TEAM', value: (d) => d.team },
          { header: 'SERVICE', value: (d) => d.service },
          { header: 'SOURCE', value: (d) => d.source },
          { header: 'PANELS', value: (d) => d.panels },
        ],
        'No dashboards you may see yet: each service gets one generated when it is in the catalog.',
      ),
    );
    const problems = list.problems ?? [];
    if (this.outputFormat !== 'table' || problems.length === 0) return;
    this.info(`\n${problems.length} dashboard definition${problems.length === 1 ? ' is' : 's are'} not served:`);
    for (const p of problems) this.info(formatProblem(p));
  }
}
