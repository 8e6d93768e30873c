import { BaseCommand } from '../../base-command.ts';
import { loadDeployCore } from '../../deploy-format.ts';
import { toJson } from '../../output.ts';

export default class DeploySchema extends BaseCommand<typeof DeploySchema> {
  static override summary = 'Print the JSON Schema of .idp/deploy.yaml, for editors (yaml-language-server, VS Code).';
  static override description = [
    'The schema of the file as written (draft 2020-12), with a description of every field. Save it and point',
    'your editor at it, e.g. a first line `# yaml-language-server: $schema=./deploy.schema.json` in the file.',
  ].join(' ');
  static override examples = ['<%= config.bin %> <%= command.id %> > deploy.schema.json'];

  async run(): Promise<void> {
    const schema = (await loadDeployCore()).deploySpecJsonSchema();
    // JSON whatever the format, except YAML when asked for: it is a JSON Schema.
    await this.render(schema, { kind: 'text', text: () => toJson(schema) });
  }
}
