import { Flags } from '@oclif/core';
import { IdpError } from '@idp/contracts';
import {
  buildOutputOf,
  formatBytes,
  formatInferredNote,
  formatRelease,
  formatStart,
  loadDeployCore,
  problemsOf,
} from '../../deploy-format.ts';
import {
  archiveDeploySource,
  hasUncommittedChanges,
  headCommit,
  resolveDeploySource,
  shortCommit,
} from '../../deploy-source.ts';
import { RolloutCommand } from './rollout.ts';

export default class Deploy extends RolloutCommand<typeof Deploy> {
  static override summary =
    'Package the service at a git ref into a release, upload it and roll it out in an environment, following the rollout live.';
  static override description = [
    "Reads the service's .idp/deploy.yaml as committed at --ref and checks it first (the same problems as",
    '`idp deploy:validate`, exit 2). Then packages the service directory at that commit (`git archive`; only',
    'committed files), uploads it as an immutable release (version = commit + digest; the same commit gives',
    'the same release) and starts the rollout the file declares. When the file leaves `run` out, the control',
    "plane infers run and build from the release's files (Procfile web:, package.json scripts.start) and this",
    'prints what it inferred. It follows the rollout on stderr: step,',
    "weight, health, the canary's requests and error rate, and prints the final deployment on stdout.",
    'Exit 0 when it ends healthy, 1 when it is rolled back, aborted or fails (with the reason).',
    'When that release already runs there, nothing is deployed: it says so, prints the current deployment and exits 0.',
    '--no-wait prints the deployment id as soon as the rollout is recorded. Ctrl-C stops following, not the rollout.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --env=feature-payments',
    {
      description: 'Another service directory, at a tag.',
      command: '<%= config.bin %> <%= command.id %> --env=staging --path=services/payments-api --ref=v1.4.0',
    },
    {
      description: 'Start it and return the deployment id.',
      command: '<%= config.bin %> <%= command.id %> --env=staging --no-wait',
    },
    {
      description: 'The final deployment as JSON, for a pipeline.',
      command: '<%= config.bin %> <%= command.id %> --env=staging -o json',
    },
  ];
  static override flags = {
    env: Flags.string({ summary: 'The environment to deploy to, e.g. feature-payments or staging.', required: true }),
    path: Flags.string({
      summary: 'The service directory (holding .idp/deploy.yaml), inside a git repository.',
      default: '.',
    }),
    ref: Flags.string({ summary: 'The git ref to deploy: a branch, tag or commit.', default: 'HEAD' }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Follow the rollout until it ends (--no-wait prints the deployment id at once).',
    }),
  };

  async run(): Promise<void> {
    const { env, path, ref, wait } = this.flags;
    const source = await resolveDeploySource(path, ref);
    const core = await loadDeployCore();
    const parsed = core.parseDeploySpec(source.specText, source.specPath);
    if (!parsed.ok) {
      if (this.outputFormat !== 'json') this.info(core.formatProblems(parsed.problems));
      throw new IdpError(
        'DEPLOY_SPEC_INVALID',
        `${source.specPath} at ${shortCommit(source.commit)} has ${problemCount(parsed.problems.length)}`,
        {
          file: source.specPath,
          problems: parsed.problems,
        },
      );
    }
    const { spec } = parsed;
    const service = spec.service.name;

    if (source.commit === (await headCommit(source.repo)) && (await hasUncommittedChanges(source))) {
      this.info(
        `Note: uncommitted changes under ${source.dir || 'the repository'} are not part of the release; it is built from commit ${shortCommit(source.commit)}.`,
      );
    }
    this.info(`Packaging ${service} at ${shortCommit(source.commit)} (${source.dir || 'repository root'})…`);
    const tar = await archiveDeploySource(source);
    const builds = spec.build
      ? `; the platform runs \`${spec.build.command}\``
      : spec.run.command === null
        ? '; the platform infers how to build and run it'
        : '';
    this.info(`Uploading ${formatBytes(tar.length)}${builds}…`);
    const release = await this.explainingServerErrors(() => this.api.uploadRelease(service, source.commit, tar, env));
    if (release.status === 'failed') {
      const output = buildOutputOf({ output: release.buildOutput });
      if (output && this.outputFormat !== 'json') this.info(output);
      throw new IdpError('DEPLOY_BUILD_FAILED', `the build of release ${release.version} failed`, {
        version: release.version,
        output: release.buildOutput,
      });
    }
    this.info(formatRelease(release));
    // The control plane's inference, from the files it received, is the one the release runs with.
    for (const note of release.inferred) this.info(`  ${formatInferredNote(note)}`);

    const deployment = await this.explainingServerErrors(() =>
      this.api.createDeployment({ service, env, version: release.version }),
    );
    // The server answers the deployment already serving this version (a re-run job): nothing to roll out.
    if (deployment.version === release.version && deployment.status === 'healthy') {
      this.info(
        `${service} ${release.version} already runs in ${env} (deployment ${deployment.id}); nothing to deploy.`,
      );
      await this.show(deployment);
      return;
    }
    if (!wait) {
      this.info(
        `Deployment ${deployment.id} of ${service} ${release.version} to ${env} started; follow it with \`idp deploy:status ${deployment.id} --watch\`.`,
      );
      await this.render(deployment, { kind: 'text', text: () => deployment.id });
      return;
    }
    this.info(formatStart(deployment));
    const final = await this.follow(deployment);
    if (final) await this.showOutcome(final);
  }

  /** The server's deploy.yaml problems and build output say more than its one-line message. */
  private async explainingServerErrors<R>(call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof IdpError && this.outputFormat !== 'json') {
        const problems = err.code === 'DEPLOY_SPEC_INVALID' ? problemsOf(err.details) : undefined;
        if (problems) this.info((await loadDeployCore()).formatProblems(problems));
        const output = err.code === 'DEPLOY_BUILD_FAILED' ? buildOutputOf(err.details) : undefined;
        if (output) this.info(output);
      }
      throw err;
    }
  }
}

function problemCount(count: number): string {
  return count === 1 ? '1 problem' : `${count} problems`;
}
