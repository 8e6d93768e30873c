import { Command, Flags, type Interfaces } from '@oclif/core';
import { IdpClient } from '@idp/client';
import { readCredentials, resolveConnection } from './credentials.ts';
import { outputFormatFromArgv, reportError } from './errors.ts';
import { OUTPUT_FORMATS, renderData, type OutputFormat, type TableSpec } from './output.ts';

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * Every idp command: parses its flags up front, talks to the API through `this.api`, prints
 * results with `this.render` (stdout) and anything meant for the person with `this.info`
 * (stderr), and leaves error rendering to `catch`, the single place that does it.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    output: Flags.option({
      char: 'o',
      options: OUTPUT_FORMATS,
      default: 'table' as const,
      summary: 'Output format: table for people; json or yaml give the API object, for scripts.',
      helpGroup: 'GLOBAL',
    })(),
  };

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  #api: IdpClient | undefined;

  override async init(): Promise<void> {
    await super.init();
    // Marked before parsing: when the command line is wrong, parse throws, and oclif (outside
    // production) would add a misleading "did not parse its arguments" warning to our error.
    this.parsed = true;
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
  }

  /** A client for the control plane from IDP_URL / IDP_TOKEN, else from `idp login`'s file. */
  protected get api(): IdpClient {
    if (!this.#api) {
      const stored = readCredentials(process.env, (line) => this.info(line));
      this.#api = new IdpClient(resolveConnection(process.env, stored));
    }
    return this.#api;
  }

  protected get outputFormat(): OutputFormat {
    return this.flags?.output ?? outputFormatFromArgv(this.argv) ?? 'table';
  }

  /** Prints a result: json/yaml print `data` as the API gave it, table follows `spec`. */
  protected async render<D>(data: D, spec: TableSpec<D>): Promise<void> {
    const rendered = await renderData(data, this.outputFormat, spec);
    if (rendered.stdout) process.stdout.write(rendered.stdout);
    if (rendered.note) this.info(rendered.note);
  }

  /** Progress and notes for the person at the terminal; never part of the result. */
  protected info(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  protected override async catch(err: Interfaces.CommandError): Promise<void> {
    process.exitCode = reportError(err, { commandId: this.id, format: this.outputFormat });
  }
}
