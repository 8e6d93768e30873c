import type { Token } from '@idp/contracts';
import type { TokenList } from '@idp/client';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class TokenList_ extends BaseCommand<typeof TokenList_> {
  static override summary = 'List API tokens, active, expired and revoked.';
  static override description = 'Admins see every token; others see their own. Token secrets are never shown again.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    await this.render(
      await this.api.listTokens(),
      listSpec<TokenList, Token>(
        (list) => list.items,
        [
          { header: 'ID', value: (t) => t.id },
          { header: 'USER', value: (t) => displayRef(t.user) },
          { header: 'STATUS', value: (t) => t.status },
          { header: 'CREATED', value: (t) => formatTime(t.createdAt) },
          { header: 'EXPIRES', value: (t) => (t.expiresAt ? formatTime(t.expiresAt) : 'never') },
          { header: 'LAST USED', value: (t) => formatTime(t.lastUsedAt) },
          { header: 'DESCRIPTION', value: (t) => t.description },
        ],
        'No tokens.',
      ),
    );
  }
}
