import { Flags } from '@oclif/core';
import { IdpError, type PolicyDecision } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';

export default class PolicyCheck extends BaseCommand<typeof PolicyCheck> {
  static override summary = 'Explain whether a principal may take an action on a resource, and which policies decided.';
  static override description = [
    'Evaluates the Cedar policies without doing anything. Exits 0 for allow and for deny alike: the answer',
    'is the explanation. Use it to understand a POLICY_DENIED error: its hint is the policy:check command that',
    'asks the same question, with the same context.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --principal alice@company.com --action env:create --resource environment:staging',
    {
      description: 'An environment env:create would make: --context says what it clones (and the TTL).',
      command: `<%= config.bin %> <%= command.id %> --principal alice@company.com --action env:create --resource environment:feature-x --context '{"from":"production","ttlSeconds":172800}'`,
    },
    {
      description: 'With request context, as JSON.',
      command: `<%= config.bin %> <%= command.id %> --principal user:default/bob --action secret:read --resource secret:staging/payments-api/DB_URL --context '{"ttl":"2h"}' -o json`,
    },
  ];
  static override flags = {
    principal: Flags.string({
      summary: 'Who: user:alice@company.com, user:default/alice or alice@company.com.',
      required: true,
    }),
    action: Flags.string({ summary: 'The action, e.g. env:create, deploy:create, secret:read.', required: true }),
    resource: Flags.string({
      summary: 'On what: <type>:<id>, e.g. environment:staging, service:payments-api.',
      required: true,
    }),
    context: Flags.string({ summary: 'Extra request context as a JSON object, e.g. \'{"ttl":"2h"}\'.' }),
  };

  async run(): Promise<void> {
    const { principal, action, resource } = this.flags;
    const context = this.flags.context === undefined ? undefined : parseContext(this.flags.context);
    const decision = await this.api.checkPolicy({ principal, action, resource, ...(context ? { context } : {}) });
    await this.render<PolicyDecision>(
      decision,
      recordSpec([
        { label: 'Decision', value: (d) => d.decision.toUpperCase() },
        { label: 'Reason', value: (d) => d.reason },
        { label: 'Principal', value: (d) => d.principal },
        { label: 'Action', value: (d) => d.action },
        { label: 'Resource', value: (d) => d.resource },
        { label: 'Permitted by', value: (d) => d.permittedBy },
        { label: 'Forbidden by', value: (d) => d.forbiddenBy },
        { label: 'Errors', value: (d) => d.errors },
      ]),
    );
  }
}

function parseContext(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw contextError(`--context is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw contextError('--context must be a JSON object');
  return value as Record<string, unknown>;
}

function contextError(message: string): IdpError {
  return new IdpError('USAGE', message, {
    field: 'context',
    hint: `Quote a JSON object, e.g. --context '{"ttl":"2h"}'.`,
  });
}
