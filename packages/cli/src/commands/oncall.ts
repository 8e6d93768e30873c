import { Args } from '@oclif/core';
import type { OnCallContact } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { formatOnCall } from '../catalog-format.ts';

export default class OnCall extends BaseCommand<typeof OnCall> {
  static override summary = 'Who to page for a service (or a team), and how that answer was found.';
  static override description = [
    "Starts from the entity's owner group and tries, in order: the on-call rota in idp.config.yaml",
    "(catalog.oncall), an on-call annotation on the group (idp.dev/oncall, PagerDuty, Opsgenie), the group's",
    'email, then the same on each parent group. Every step taken is printed, so a wrong answer shows where',
    'to fix it. Exits 0 even when no contact is found.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments-api',
    { description: 'A team directly, as JSON.', command: '<%= config.bin %> <%= command.id %> group:payments -o json' },
  ];
  static override args = {
    ref: Args.string({ description: 'Entity reference, e.g. payments-api or group:payments.', required: true }),
  };

  async run(): Promise<void> {
    const contact = await this.api.oncall(this.args.ref);
    await this.render<OnCallContact>(contact, { kind: 'text', text: formatOnCall });
    if (!contact.contact && this.outputFormat === 'table') {
      this.info(
        'No contact found: set catalog.oncall in idp.config.yaml, or an idp.dev/oncall annotation or spec.profile.email on the owner group.',
      );
    }
  }
}
