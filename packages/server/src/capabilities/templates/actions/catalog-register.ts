// catalog:register: registers the published catalog-info.yaml as a catalog location, as the
// user, through the catalog's own register (its policy, audit and reading rules).
import { readFile } from 'node:fs/promises';
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { IdpError } from '@idp/contracts';
import { parse } from 'yaml';
import type { RequestContext } from '../../../auth/context.ts';
import type { ActionContext, TemplateAction } from '../types.ts';
import { insideRoot } from './workspace.ts';

/** The catalog's register operation (CatalogService.register fits). */
export interface CatalogRegistrar {
  register(
    ctx: RequestContext,
    input: { target: string; type?: string; refreshIfExists?: boolean },
  ): Promise<{ entities: Entity[] }>;
}

/**
 * The location to register. `git+<remote>#<branch>` (publish:git's repoContentsUrl) is a git
 * location: the catalog clones the branch and reads its catalog-info.yaml files. An http(s)
 * repoContentsUrl is joined with catalogInfoPath into a url location.
 */
export function locationOf(input: Record<string, unknown>): { type: string; target: string; path: string } {
  if (typeof input.catalogInfoUrl === 'string') {
    const u = input.catalogInfoUrl;
    if (u.startsWith('git+')) return { type: 'git', target: u.slice(4), path: '/catalog-info.yaml' };
    return { type: /^https?:\/\//i.test(u) ? 'url' : 'invalid', target: u, path: '' };
  }
  const base = String(input.repoContentsUrl ?? '');
  const path = `/${String(input.catalogInfoPath ?? '/catalog-info.yaml').replace(/^\/+/, '')}`;
  if (base.startsWith('git+')) {
    if (!/(^|\/)catalog-info\.ya?ml$/.test(path))
      throw new IdpError(
        'TEMPLATE_INVALID',
        `catalog:register: a git repository is read for its catalog-info.yaml files; catalogInfoPath "${path}" is not one`,
        { field: 'catalogInfoPath' },
      );
    return { type: 'git', target: base.slice(4), path };
  }
  if (/^https?:\/\//i.test(base)) return { type: 'url', target: `${base.replace(/\/+$/, '')}${path}`, path };
  return { type: 'invalid', target: base, path };
}

async function catalogRegister(ctx: ActionContext, catalog: CatalogRegistrar | undefined): Promise<void> {
  const optional = ctx.input.optional === true;
  const loc = locationOf(ctx.input);
  const infoUrl =
    loc.type === 'git'
      ? `git+${loc.target}${loc.path === '/catalog-info.yaml' ? '' : `?path=${loc.path.slice(1)}`}`
      : loc.target;
  if (loc.type === 'invalid')
    throw new IdpError(
      'TEMPLATE_INVALID',
      `${ctx.stepId} (catalog:register): "${loc.target}" is neither an http(s) URL nor publish:git's repoContentsUrl (git+…#branch)`,
      { field: ctx.input.catalogInfoUrl !== undefined ? 'catalogInfoUrl' : 'repoContentsUrl' },
    );
  ctx.output('catalogInfoUrl', infoUrl);
  const done = ctx.checkpoint.get<string>('entityRef');
  if (done) {
    ctx.log(`catalog:register: already registered (${done})`);
    ctx.output('entityRef', done);
    return;
  }
  if (ctx.dryRun) {
    const ref = await workspaceEntityRef(ctx, loc.path);
    ctx.log(
      `catalog:register (dry run): would register the ${loc.type} location ${loc.target}${ref ? ` (${ref})` : ''}`,
    );
    if (ref) ctx.output('entityRef', ref);
    return;
  }
  if (!catalog)
    throw new IdpError('TEMPLATE_ACTION_NOT_CONFIGURED', 'catalog:register: the catalog is not available to tasks', {
      needs: 'the catalog service',
    });
  try {
    const { entities } = await catalog.register(ctx.user.ctx, {
      type: loc.type,
      target: loc.target,
      refreshIfExists: true,
    });
    const first = entities.find((e) => e.kind !== 'Location') ?? entities[0];
    if (!first) throw new IdpError('TEMPLATE_ACTION_FAILED', `catalog:register: ${loc.target} holds no entity`, {});
    const ref = stringifyEntityRef(first);
    await ctx.checkpoint.set('entityRef', ref);
    ctx.output('entityRef', ref);
    ctx.log(
      `catalog:register: ${loc.type} location ${loc.target} registered: ${entities.map((e) => stringifyEntityRef(e)).join(', ')}`,
    );
  } catch (err) {
    if (!optional) throw err;
    ctx.log(`catalog:register (optional) did not register ${loc.target}: ${(err as Error).message}`, 'warn');
  }
}

/** In a dry run: the ref of the entity in the workspace's copy of the file, when there is one. */
async function workspaceEntityRef(ctx: ActionContext, path: string): Promise<string | undefined> {
  try {
    const text = await readFile(insideRoot(ctx.workspace, path.replace(/^\/+/, ''), 'catalogInfoPath'), 'utf8');
    const doc = parse(text.slice(0, 256 * 1024)) as Entity;
    return doc?.kind && doc.metadata?.name ? stringifyEntityRef(doc) : undefined;
  } catch {
    return undefined;
  }
}

export function catalogRegisterAction(catalog: CatalogRegistrar | undefined): TemplateAction {
  return {
    id: 'catalog:register',
    description:
      "Registers a catalog-info.yaml (publish:git's repoContentsUrl + catalogInfoPath, or catalogInfoUrl) as the user.",
    inputSchema: {
      type: 'object',
      properties: {
        repoContentsUrl: { type: 'string', minLength: 1 },
        catalogInfoPath: { type: 'string', default: '/catalog-info.yaml' },
        catalogInfoUrl: { type: 'string', minLength: 1 },
        optional: { type: 'boolean' },
      },
      anyOf: [{ required: ['repoContentsUrl'] }, { required: ['catalogInfoUrl'] }],
    },
    handler: (ctx) => catalogRegister(ctx, catalog),
  };
}
