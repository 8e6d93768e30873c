import { readFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { IdpError, type SecretMeta } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, recordSpec } from '../../output.ts';

export default class SecretSet extends BaseCommand<typeof SecretSet> {
  static override summary =
    'Set a secret: read the value from stdin (or --from-file) and store it as a new encrypted version.';
  static override description = [
    'The value never appears on the command line (where shell history and `ps` would keep it): pipe it on',
    'stdin, where one trailing newline is dropped so `echo` works, or give --from-file, which is read exactly.',
    'Needs secret:write on the path (by default the owning team and platform admins).',
  ].join(' ');
  static override examples = [
    {
      description: 'From a pipe.',
      command: 'printf %s "$STRIPE_KEY" | <%= config.bin %> <%= command.id %> staging/payments-api/STRIPE_KEY',
    },
    {
      description: 'From a file (e.g. a certificate).',
      command: '<%= config.bin %> <%= command.id %> production/payments-api/TLS_KEY --from-file ./tls.key',
    },
  ];
  static override args = {
    path: Args.string({ description: '<env>/<service>/<KEY>, e.g. staging/payments-api/STRIPE_KEY.', required: true }),
  };
  static override flags = {
    'from-file': Flags.string({ summary: 'Read the value from this file, exactly as it is, instead of stdin.' }),
  };

  async run(): Promise<void> {
    const file = this.flags['from-file'];
    const value = file !== undefined ? readValueFile(file) : await readStdin(this.args.path);
    const meta = await this.api.setSecret(this.args.path, value);
    this.info(`Set ${meta.path} (version ${meta.version}).`);
    await this.render<SecretMeta>(
      meta,
      recordSpec([
        { label: 'Path', value: (m) => m.path },
        { label: 'Version', value: (m) => m.version },
        { label: 'Updated', value: (m) => formatTime(m.updatedAt) },
        { label: 'Updated by', value: (m) => displayRef(m.updatedBy) },
      ]),
    );
  }
}

function readValueFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new IdpError(
      'USAGE',
      `--from-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { field: 'from-file' },
    );
  }
}

async function readStdin(path: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new IdpError('USAGE', 'the value is read from stdin, and stdin is a terminal', {
      field: 'value',
      hint: `Pipe the value in (\`printf %s "$VALUE" | idp secret:set ${path}\`) or use --from-file; idp never prompts.`,
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  const value = text.replace(/\r?\n$/, '');
  if (value === '') {
    throw new IdpError('USAGE', 'no value on stdin', {
      field: 'value',
      hint: `Pipe the value in (\`printf %s "$VALUE" | idp secret:set ${path}\`) or use --from-file.`,
    });
  }
  return value;
}
