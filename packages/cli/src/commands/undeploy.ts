import { Flags } from '@oclif/core';
import type { UndeployResult } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { recordSpec } from '../output.ts';

export default class Undeploy extends BaseCommand<typeof Undeploy> {
  static override summary =
    'Stop a deployed service in an environment (its replicas and its route), keeping the environment and the release history.';
  static override description = [
    "Decided like a deploy (the owning team; in its members' environments and base environments; production",
    'needs the same access grant), refused while a rollout of it runs, and audited. Its replicas stop and its',
    'route is removed, so requests to it get the edge proxy\'s PROXY_NO_ROUTE ("no service is routed").',
    'Releases and deployment history stay: `idp deploy` or `idp rollback` bring it back.',
    'Idempotent: when the service is not deployed there, it says so and exits 0 (stopped: false in JSON).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --service=payments-api --env=feature-payments',
    {
      description: 'The result as JSON: {service, env, namespace, stopped, version, deploymentId, replicas}.',
      command: '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging -o json',
    },
  ];
  static override flags = {
    service: Flags.string({ summary: 'The service, e.g. payments-api.', required: true }),
    env: Flags.string({ summary: 'The environment, e.g. feature-payments or staging.', required: true }),
  };

  async run(): Promise<void> {
    const { service, env } = this.flags;
    const result = await this.api.undeploy({ service, env });
    this.info(
      result.stopped
        ? `Stopped ${service} in ${env}: ${result.replicas} ${result.replicas === 1 ? 'replica' : 'replicas'} of ${result.version}; its route is removed. Release history is kept: \`idp rollback --service=${service} --env=${env}\` or \`idp deploy\` brings it back.`
        : `${service} is not deployed in ${env}; nothing to stop.`,
    );
    await this.render(
      result,
      recordSpec<UndeployResult>([
        { label: 'service', value: (r) => r.service },
        { label: 'env', value: (r) => r.env },
        { label: 'stopped', value: (r) => (r.stopped ? 'yes' : 'no (not deployed)') },
        { label: 'version', value: (r) => r.version },
        { label: 'deployment', value: (r) => r.deploymentId },
        { label: 'replicas', value: (r) => r.replicas },
      ]),
    );
  }
}
