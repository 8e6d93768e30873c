import { Args, Flags } from '@oclif/core';
import { IdpError, type DryRunResult } from '@idp/contracts';
import { TaskProgress } from '../render/task-progress.ts';
import { formatDryRun, formatParameterProblems, parameterProblemsOf } from '../render/templates-format.ts';
import { failureCode, TaskFollowingCommand } from '../task-command.ts';
import { mergeValues, parseSetFlags, readValuesFile, type Values } from '../template-values.ts';

export default class Create extends TaskFollowingCommand<typeof Create> {
  static override summary =
    'Start something new from a golden-path template: give its parameters, then follow each step live to the output links.';
  static override description = [
    'Values come from --values (a YAML or JSON file, at most 64 KiB) and --set key=value, which wins. A dotted',
    'key sets a nested value (--set repo.owner=payments); a value that reads as JSON (a number, true/false, a',
    'list, an object, a quoted string) is that value, anything else is text; key=@file is the text of a file.',
    'The control plane checks the values against the template’s parameters and names every problem with its',
    'path. The task then runs on the server: each step’s start and finish, with its time, and its log lines',
    'are printed on stderr as they happen, the output links and text on stdout at the end. Exit 0 when it',
    'completed, 1 when a step failed (retry it with `idp task:retry ID`: finished steps are not redone).',
    '--no-wait prints the task id at once; --dry-run renders and runs the steps with no side effects and',
    'prints the files they would write.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> node-service --set name=payments-api --set owner=payments',
    {
      description: 'Values from a file, one of them overridden.',
      command: '<%= config.bin %> <%= command.id %> node-service --values payments-api.yaml --set replicas=2',
    },
    {
      description: 'See the files it would write, without writing or publishing anything.',
      command: '<%= config.bin %> <%= command.id %> node-service --set name=payments-api --dry-run',
    },
    {
      description: 'Start it and return the task id, for a script.',
      command: '<%= config.bin %> <%= command.id %> static-site --set name=docs --no-wait',
    },
  ];
  static override args = {
    template: Args.string({ description: 'The template, e.g. node-service (`idp template:list`).', required: true }),
  };
  static override flags = {
    set: Flags.string({
      summary: 'A parameter, key=value (repeatable; dotted keys nest; JSON values are parsed; key=@file reads a file).',
      multiple: true,
    }),
    values: Flags.string({ summary: 'A YAML or JSON file of parameters (--set wins over it).' }),
    'dry-run': Flags.boolean({
      summary: 'Render and run the steps with no side effects; print the files they would write and the steps.',
    }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Follow the task until it ends (--no-wait prints its id and returns).',
    }),
  };

  async run(): Promise<void> {
    const values = await this.values();
    const name = this.args.template;
    if (this.flags['dry-run']) {
      const result = await this.explainingProblems(() => this.api.createTask(name, { values, dryRun: true }));
      await this.showDryRun(result);
      return;
    }
    const task = await this.explainingProblems(() => this.api.createTask(name, { values }));
    if (!this.flags.wait) return this.startedInBackground(task);
    await this.followToEnd(task);
  }

  private async values(): Promise<Values> {
    const fromSet = parseSetFlags(this.flags.set ?? []);
    const file = this.flags.values;
    if (file === undefined) return fromSet;
    // The project's bounded YAML reader, loaded only when a file is given (start-up time matters).
    const core = await import('@idp/core');
    const fromFile = readValuesFile(
      file,
      (text) => core.loadYamlDocuments(text, core.SMALL_YAML_LIMITS),
      (err) => (err instanceof core.YamlError ? err.message : undefined),
    );
    return mergeValues(fromFile, fromSet);
  }

  /** TEMPLATE_PARAMETERS_INVALID lists every problem with its path under the message (-o json: the envelope has them). */
  private async explainingProblems<R>(call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof IdpError && err.code === 'TEMPLATE_PARAMETERS_INVALID' && this.outputFormat !== 'json') {
        const problems = parameterProblemsOf(err.details);
        throw new IdpError(err.code, formatParameterProblems(this.args.template, err.message, problems), err.details);
      }
      throw err;
    }
  }

  private async showDryRun(result: DryRunResult): Promise<void> {
    if (this.outputFormat === 'table') {
      this.info('Dry run: the steps ran in a scratch workspace, with no side effects.');
      for (const line of TaskProgress.replay(result.steps, result.log)) this.info(line);
    }
    await this.render(result, { kind: 'text', text: formatDryRun });
    const failed = result.steps.find((s) => s.status === 'failed');
    if (failed) {
      const error = failed.error ?? { code: 'TEMPLATE_ACTION_FAILED', message: 'failed' };
      throw dryRunFailed(failed.id, error);
    }
    this.info(`Dry run: nothing was written or published; run it without --dry-run to do it.`);
  }
}

function dryRunFailed(step: string, error: { code: string; message: string }): IdpError {
  const code = failureCode(error.code);
  return new IdpError(
    code,
    `the dry run failed at step ${step}: ${error.code === code ? '' : `${error.code}: `}${error.message}`,
    {
      step,
      hint: 'Fix the template or the values at the step named, then run the dry run again.',
    },
  );
}
