import { Args, Flags } from '@oclif/core';
import { IdpError, LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX, type LogsResult } from '@idp/contracts';
import type { LogsFilter } from '@idp/client';
import { BaseCommand } from '../base-command.ts';
import { formatLogEntry, formatLogs, logEntries, useColour } from '../logs-format.ts';

export default class Logs extends BaseCommand<typeof Logs> {
  static override summary = "A service's replica logs in an environment: the newest lines, or follow them as written.";
  static override description = [
    'Prints `<time> <release> r<replica> <line>`, oldest first, from every replica of every release of the service',
    'in the environment (the current file and its rotated copies). JSON lines are printed as written; their level',
    'colours them on a terminal. You see the logs of what you may see the deployments of (your team’s services,',
    'your own environments) and what a team view in the platform config grants you; anything else shows no lines. With --follow it prints the newest lines, then every new',
    'line as it is written, until Ctrl-C. -o json prints the answer in Loki’s query_range shape (with --follow: one',
    'JSON event per line).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments-api --env=staging',
    {
      description: 'Follow what payments-api writes in staging (as alice@company.com), until Ctrl-C.',
      command: '<%= config.bin %> <%= command.id %> payments-api --env=staging --follow',
    },
    {
      description: 'Errors of the last 10 minutes, from replica 2 of one release.',
      command:
        '<%= config.bin %> <%= command.id %> payments-api --env=staging --since=10m --grep=error --replica=2 --release=v3',
    },
    '<%= config.bin %> <%= command.id %> payments-api --env=staging --limit=50 -o json',
  ];
  static override args = {
    service: Args.string({ description: 'The service, e.g. payments-api.', required: true }),
  };
  static override flags = {
    env: Flags.string({ summary: 'The environment, e.g. staging.', required: true }),
    follow: Flags.boolean({ char: 'f', summary: 'Keep printing lines as they are written, until Ctrl-C.' }),
    since: Flags.string({ summary: 'Only lines written since, e.g. 10m, 2h or 1d.' }),
    grep: Flags.string({ summary: 'Only lines containing this text (case-sensitive).' }),
    replica: Flags.integer({ summary: 'Only this replica (1 is the first).', min: 1 }),
    release: Flags.string({ summary: 'Only this release version.' }),
    limit: Flags.integer({
      summary: `Most lines printed (the newest), default ${LOG_LIMIT_DEFAULT}, at most ${LOG_LIMIT_MAX}.`,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { env, since, grep, replica, release, limit } = this.flags;
    if (limit !== undefined && limit > LOG_LIMIT_MAX)
      throw new IdpError('USAGE', `--limit is at most ${LOG_LIMIT_MAX}`, {
        field: 'limit',
        hint: `Use --limit=${LOG_LIMIT_MAX} or less, or narrow with --since or --grep.`,
      });
    const filter: LogsFilter = { service: this.args.service, env, since, grep, replica, release, limit };
    if (this.flags.follow) return this.follow(filter);
    const result = await this.api.logs(filter);
    await this.render<LogsResult>(result, { kind: 'text', text: (r) => formatLogs(r, useColour(process.stdout)) });
    if (this.outputFormat === 'table' && result.data.result.length === 0)
      this.info(`No log lines of ${this.args.service} in ${env}${since ? ` in the last ${since}` : ''}.`);
  }

  private async follow(filter: LogsFilter): Promise<void> {
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const colour = useColour(process.stdout);
    const structured = this.outputFormat !== 'table';
    try {
      for await (const event of this.api.followLogs(filter, abort.signal)) {
        if (structured) {
          process.stdout.write(`${JSON.stringify(event)}\n`);
          continue;
        }
        for (const entry of logEntries(event.streams)) process.stdout.write(`${formatLogEntry(entry, colour)}\n`);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
