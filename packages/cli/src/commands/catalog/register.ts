import { isAbsolute, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import type { RefreshResult } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';

export default class CatalogRegister extends BaseCommand<typeof CatalogRegister> {
  static override summary =
    'Register a catalog location (a folder, a YAML file, a URL or a git repository) and read it now.';
  static override description = [
    'The control plane reads the location at once and again at every refresh. A local path is made absolute',
    'here before it is sent, because the control plane reads it from its own file system: register local',
    'paths only when the control plane runs on this machine. With --dry-run the location is read and checked',
    'but nothing is stored. Needs the catalog:register permission. Users and Groups load only from identity',
    "sources: a location a platform admin registers is one unless --no-identity-source; anyone else's is not,",
    'and their User and Group entities are refused (CATALOG_IDENTITY_UNTRUSTED in `idp catalog:errors`).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> ./catalog',
    {
      description: 'Check a repository before registering it.',
      command: '<%= config.bin %> <%= command.id %> https://github.com/acme/payments-api.git --dry-run',
    },
    {
      description: 'A single YAML file over HTTP, as JSON.',
      command: '<%= config.bin %> <%= command.id %> https://example.com/catalog-info.yaml -o json',
    },
  ];
  static override args = {
    target: Args.string({
      description: 'A local path (file or folder), an http(s) URL, or a git repository URL.',
      required: true,
    }),
  };
  static override flags = {
    type: Flags.option({
      options: ['file', 'url', 'git'] as const,
      summary: 'Location type; guessed from the target when absent.',
    })(),
    'dry-run': Flags.boolean({
      summary: 'Read and check the location, report what would change, store nothing.',
      default: false,
    }),
    'identity-source': Flags.boolean({
      summary:
        'Whether its User and Group entities make the directory (platform admins only). Default: yes for an admin, no otherwise.',
      allowNo: true,
    }),
  };

  async run(): Promise<void> {
    const { type } = this.flags;
    const dryRun = this.flags['dry-run'];
    const target = absoluteTarget(this.args.target, type);
    const identity = this.flags['identity-source'];
    const result = await this.api.registerLocation({
      target,
      ...(type ? { type } : {}),
      dryRun,
      ...(identity === undefined ? {} : { identitySource: identity }),
    });
    const { location } = result;
    await this.render<RefreshResult>(
      result,
      recordSpec([
        { label: 'Location', value: (r) => (dryRun ? 'none (dry run)' : r.location.id) },
        { label: 'Target', value: (r) => `${r.location.type}:${r.location.target}` },
        { label: 'Identity source', value: (r) => (r.location.identitySource ? 'yes' : 'no') },
        { label: 'Added', value: (r) => r.added },
        { label: 'Updated', value: (r) => r.updated },
        { label: 'Removed', value: (r) => r.removed },
        { label: 'Errors', value: (r) => r.errors },
        { label: 'Warnings', value: (r) => (r.warnings ?? []).length },
      ]),
    );
    // A server from before warnings answers without them.
    for (const w of result.warnings ?? [])
      this.info(
        `warning: ${w.file ?? ''}${w.line ? `:${w.line}` : ''}${w.entityRef ? ` ${w.entityRef}` : ''}: ${w.message}`,
      );
    if (dryRun) {
      this.info('Dry run: nothing was stored.');
      if (result.errors > 0 && location.lastError) this.info(`Problems: ${location.lastError}`);
    } else if (result.errors > 0) {
      this.info(
        `The location has ${result.errors} problem${result.errors === 1 ? '' : 's'}: run \`idp catalog:errors --location ${location.id}\` to see them.`,
      );
    } else {
      this.info(
        `Registered location ${location.id}; it provides ${location.entities} entit${location.entities === 1 ? 'y' : 'ies'}.`,
      );
    }
  }
}

/**
 * URLs (http, https, git+https, ssh, file://…) go as they are; anything else is a path on this
 * machine, resolved against the working directory, since the server's is somewhere else.
 */
export function absoluteTarget(target: string, type?: string): string {
  if (type === 'url' || type === 'git') return target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) || /^[\w.-]+@[\w.-]+:/.test(target)) return target;
  const path = target.replace(/^file:/, '');
  return isAbsolute(path) ? path : resolve(process.cwd(), path);
}
