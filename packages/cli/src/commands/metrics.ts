import { Args, Flags } from '@oclif/core';
import { DASHBOARD_UNITS, IdpError, type DashboardUnit } from '@idp/contracts';
import type { PromQueryData } from '@idp/client';
import { BaseCommand } from '../base-command.ts';
import { formatInstant, formatRange, rangeGrid } from '../render/metrics-format.ts';
import { SPARK_WIDTH, terminalWidth } from '../render/sparkline.ts';

export default class Metrics extends BaseCommand<typeof Metrics> {
  static override summary = 'Run a PromQL query over the metrics you may read: values now, or a sparkline per series.';
  static override description = [
    'Without --since, an instant query: one row per series with the labels that tell the rows apart (those every',
    'row shares are named once, on stderr) and its value. With --since, a range query up to now: each series as a',
    'sparkline (a space where there was no sample) with its lowest, highest and last value. Queries go through the',
    'query gate: you see the series of your teams in the environments you may read their deployments in.',
    '--unit formats the values (ratio: 0..1 as a percentage; seconds: ms under a second; bytes: KiB, MiB, GiB).',
    '-o json prints Prometheus’s data object (resultType and result) as it answered.',
  ].join(' ');
  static override examples = [
    {
      description: 'Requests per second of each service you may read (as alice@company.com: the payments team’s).',
      command:
        "<%= config.bin %> <%= command.id %> 'sum by (service) (rate(idp_proxy_requests_total[1m]))' --unit=req/s",
    },
    {
      description: 'The last hour as sparklines, a point every minute.',
      command:
        "<%= config.bin %> <%= command.id %> 'sum by (service, code) (rate(idp_proxy_requests_total[5m]))' --since=1h --step=1m",
    },
    "<%= config.bin %> <%= command.id %> 'up' --time=2026-12-01T12:00:00Z -o json",
  ];
  static override args = {
    query: Args.string({ description: 'The PromQL query, quoted for the shell.', required: true }),
  };
  static override flags = {
    since: Flags.string({ summary: 'A range query from this long ago until now, e.g. 15m, 1h or 2d.' }),
    step: Flags.string({
      summary: `With --since: seconds between points, e.g. 30s or 1m (default: the range in ${SPARK_WIDTH} points).`,
    }),
    time: Flags.string({
      summary: 'Instant query at this time (RFC 3339 or Unix seconds) instead of now.',
      exclusive: ['since'],
    }),
    unit: Flags.option({ options: DASHBOARD_UNITS, summary: 'How to show the values.', default: 'none' as const })(),
  };

  async run(): Promise<void> {
    const { since, step, time } = this.flags;
    const unit: DashboardUnit = this.flags.unit;
    const columns = terminalWidth();
    if (since === undefined) {
      if (step !== undefined) throw usage('--step goes with --since', 'step', 'Add --since=1h, or drop --step.');
      const data = await this.api.query(this.args.query, time === undefined ? {} : { time });
      return this.show(data, () => formatInstant(data, { unit, columns }));
    }
    const grid = rangeGrid(since, step, Date.now());
    const data = await this.api.queryRange(this.args.query, grid);
    return this.show(data, () =>
      data.resultType === 'matrix'
        ? formatRange(data.result, grid, { unit, columns })
        : formatInstant(data, { unit, columns }),
    );
  }

  private async show(data: PromQueryData, table: () => { text: string; note: string }): Promise<void> {
    let note = '';
    await this.render<PromQueryData>(data, {
      kind: 'text',
      text: () => {
        const rendered = table();
        note = rendered.note;
        return rendered.text;
      },
    });
    if (this.outputFormat !== 'table') return;
    const empty = data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length === 0 : false;
    if (empty) this.info('No series: nothing you may read matches the query.');
    else if (note !== '') this.info(`Every series has ${note}.`);
  }
}

function usage(message: string, field: string, hint: string): IdpError {
  return new IdpError('USAGE', message, { field, hint });
}
