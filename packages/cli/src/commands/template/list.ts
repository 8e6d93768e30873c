import type { TemplateList, TemplateSummary } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { TEMPLATE_LIST_COLUMNS } from '../../render/templates-format.ts';

export default class TemplateListCommand extends BaseCommand<typeof TemplateListCommand> {
  static override summary = 'List the golden-path templates you may use: name, title, type, owner and tags.';
  static override description = [
    'Templates are catalog entities of kind Template in the Backstage format (scaffolder.backstage.io/v1beta3).',
    'Run `idp template:get NAME` for one template’s parameters, and `idp create NAME` to run it.',
  ].join(' ');
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    const list = await this.api.templates();
    await this.render(
      list,
      listSpec<TemplateList, TemplateSummary>(
        (l) => l.items,
        TEMPLATE_LIST_COLUMNS,
        'No templates you may use; a template is registered like any catalog entity (`idp catalog:register`).',
      ),
    );
  }
}
