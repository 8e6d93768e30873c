import { Args } from '@oclif/core';
import type { TemplateDetail } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTemplate } from '../../render/templates-format.ts';

export default class TemplateGet extends BaseCommand<typeof TemplateGet> {
  static override summary =
    'Show a template: what it is, its parameters as a table (required ones marked *) and its steps.';
  static override description = [
    'The parameters are the template’s form pages merged into one list: name, type, whether it is required,',
    'its default, its description (with the values it may take) and its page. Pass them to `idp create` with',
    '--set name=value or --values file.yaml. -o json and -o yaml print the API object, the merged JSON Schema',
    'and the pages as written included.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> node-service',
    '<%= config.bin %> <%= command.id %> node-service -o yaml',
  ];
  static override args = {
    name: Args.string({ description: 'The template, e.g. node-service.', required: true }),
  };

  async run(): Promise<void> {
    await this.render<TemplateDetail>(await this.api.template(this.args.name), { kind: 'text', text: formatTemplate });
  }
}
