import { Args, Flags } from '@oclif/core';
import { IdpError, TRACES_LIMIT_MAX, type TraceResult, type TracesResult } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { formatTraces, formatTraceTree } from '../traces-format.ts';

export default class Traces extends BaseCommand<typeof Traces> {
  static override summary = "A service's slow requests in an environment, or one request's spans as a tree.";
  static override description = [
    'Lists the slowest requests the edge proxy served for the service (duration, status, method, path without',
    'the query string, release, replica, spans in the trace, trace id); --min keeps those that took at least that',
    'long. --trace prints one trace: the proxy’s span and the spans the workload exported under it (over',
    'OTLP/HTTP JSON to OTEL_EXPORTER_OTLP_ENDPOINT, which every replica is given), each with its duration as a bar.',
    'Traces are kept in memory by the control plane (lost at restart). You see the traces of what you may see the',
    'logs of; anything else shows none.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments-api --env=staging',
    {
      description: 'Requests of the last 10 minutes that took 200 ms or more (as alice@company.com).',
      command: '<%= config.bin %> <%= command.id %> payments-api --env=staging --since=10m --min=200ms',
    },
    {
      description: 'One request’s spans as a tree.',
      command:
        '<%= config.bin %> <%= command.id %> payments-api --env=staging --trace=4bf92f3577b34da6a3ce929d0e0e4736',
    },
    '<%= config.bin %> <%= command.id %> payments-api --env=staging --limit=5 -o json',
  ];
  static override args = {
    service: Args.string({ description: 'The service, e.g. payments-api.', required: true }),
  };
  static override flags = {
    env: Flags.string({ summary: 'The environment, e.g. staging.', required: true }),
    since: Flags.string({ summary: 'Only requests that started since, e.g. 10m or 2h (default 1h).' }),
    min: Flags.string({ summary: 'Only requests that took at least this long, e.g. 200ms or 1.5s.' }),
    limit: Flags.integer({ summary: `Most requests listed, default 20, at most ${TRACES_LIMIT_MAX}.`, min: 1 }),
    recent: Flags.boolean({ summary: 'The most recent requests first, instead of the slowest.' }),
    trace: Flags.string({ summary: 'Print this trace (its id from the list) as a tree of spans.' }),
  };

  async run(): Promise<void> {
    const { env, since, min, limit, recent, trace } = this.flags;
    const service = this.args.service;
    if (trace !== undefined) {
      if (!/^[0-9a-fA-F]{32}$/.test(trace))
        throw new IdpError('USAGE', `--trace must be a trace id of 32 hex digits, not "${trace}"`, {
          field: 'trace',
          hint: `List the trace ids with: idp traces ${service} --env=${env}`,
        });
      const result = await this.api.trace(trace.toLowerCase(), { service, env });
      await this.render<TraceResult>(result, { kind: 'text', text: (r) => formatTraceTree(r) });
      if (this.outputFormat === 'table' && result.spans.length === 0)
        this.info(`No spans of trace ${trace} for ${service} in ${env} (traces are kept in memory for a while).`);
      return;
    }
    if (limit !== undefined && limit > TRACES_LIMIT_MAX)
      throw new IdpError('USAGE', `--limit is at most ${TRACES_LIMIT_MAX}`, {
        field: 'limit',
        hint: `Use --limit=${TRACES_LIMIT_MAX} or less, or narrow with --since or --min.`,
      });
    const result = await this.api.traces({
      service,
      env,
      since,
      minDuration: min,
      order: recent ? 'recent' : 'slowest',
      limit: limit ?? 20,
    });
    await this.render<TracesResult>(result, { kind: 'text', text: formatTraces });
    if (this.outputFormat === 'table' && result.traces.length === 0)
      this.info(
        `No requests of ${service} in ${env} in the last ${since ?? '1h'}${min ? ` that took ${min} or more` : ''}.`,
      );
  }
}
