// fetch:template and fetch:plain: copy a skeleton folder from beside the template into the
// workspace, rendering file contents and names (fetch:template). The skeleton must sit inside the
// template's own folder (on the server's disk) or its git repository (a fresh clone), and hold no
// links; what is copied is bounded in files and bytes.
import { constants } from 'node:fs';
import { lstat, open, readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { IdpError } from '@idp/contracts';
import type { ActionContext, GitCheckoutFn, TemplateAction } from '../types.ts';
import { globToRegExp, matchesAny } from './glob.ts';
import {
  assertNoLinks,
  FileBudget,
  insideRoot,
  mkdirInside,
  printable,
  unsafePath,
  usageOf,
  writablePath,
  type FileLimits,
} from './workspace.ts';

interface SkeletonFile {
  /** `/`-separated, relative to the skeleton folder. */
  rel: string;
  abs: string;
  size: number;
  mode: number;
}

/** A skeleton folder ready to copy; cleanup() removes a git checkout it came from. */
export interface Skeleton {
  dir: string;
  cleanup(): Promise<void>;
}

const NOTHING_TO_CLEAN = async (): Promise<void> => {};

/**
 * The skeleton folder `url` names beside the template (real paths, no links): in the template's
 * own folder on disk (file locations) or in a fresh shallow clone of the repository it was read
 * from (git locations, cloned under the fetch rules of the location that brought it in).
 */
export async function skeletonDir(ctx: ActionContext, url: string, checkout?: GitCheckoutFn): Promise<Skeleton> {
  const loc = ctx.template.location;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url))
    throw new IdpError(
      'TEMPLATE_ACTION_NOT_CONFIGURED',
      `${ctx.stepId}: url "${printable(url)}" is absolute; idp fetches skeletons only from beside the template (a relative url such as ./skeleton)`,
      { field: 'url', needs: 'a skeleton folder next to the template file' },
    );
  if (loc.type === 'url')
    throw new IdpError(
      'TEMPLATE_ACTION_NOT_CONFIGURED',
      `${ctx.stepId}: the template was read from the URL ${loc.target || '(unknown)'}, which holds one file, not a folder; register it from its git repository (a git location such as git+https://host/repo.git#main) or a file location so ./skeleton can be read`,
      { field: 'url', needs: 'the template registered from a git or file location' },
    );
  if (loc.type === 'file') {
    const templateDir = await realpath(dirname(loc.target));
    return { dir: await folderInside(ctx, templateDir, url), cleanup: NOTHING_TO_CLEAN };
  }
  if (!checkout)
    throw new IdpError('TEMPLATE_ACTION_NOT_CONFIGURED', `${ctx.stepId}: git checkouts are not wired`, {
      field: 'url',
      needs: 'the catalog',
    });
  let clone;
  try {
    clone = await checkout(loc.origin, loc.target);
  } catch (err) {
    throw new IdpError(
      'TEMPLATE_ACTION_FAILED',
      `${ctx.stepId}: could not clone ${loc.target} to read "${printable(url)}": ${(err as Error).message}`,
      { field: 'url', repository: loc.target },
    );
  }
  try {
    // Anywhere in the repository, as in Backstage (`../../skeletons/x`), but never out of the clone.
    const root = await realpath(clone.dir);
    const fromRoot = posix.normalize(posix.join(posix.dirname(loc.path), url));
    if (fromRoot === '..' || fromRoot.startsWith('../'))
      throw unsafePath(`${ctx.stepId}: url "${printable(url)}" leads out of the repository ${loc.target}`, {
        field: 'url',
      });
    return { dir: await folderInside(ctx, root, fromRoot), cleanup: () => clone.cleanup() };
  } catch (err) {
    await clone.cleanup();
    throw err;
  }
}

async function folderInside(ctx: ActionContext, templateDir: string, url: string): Promise<string> {
  const abs = insideRoot(templateDir, url, 'url');
  await assertNoLinks(templateDir, abs, 'url');
  const st = await lstat(abs).catch(() => null);
  if (!st?.isDirectory())
    throw new IdpError(
      'TEMPLATE_ACTION_FAILED',
      `${ctx.stepId}: url "${printable(url)}" is not a folder beside the template`,
      {
        field: 'url',
      },
    );
  return abs;
}

/** Every file below `dir`: a link, a device, a FIFO or a socket anywhere refuses the whole skeleton. */
export async function listSkeleton(dir: string, limits: FileLimits, what: string): Promise<SkeletonFile[]> {
  const out: SkeletonFile[] = [];
  const budget = new FileBudget(limits, what);
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d);
    entries.sort();
    for (const name of entries) {
      const abs = join(d, name);
      const st = await lstat(abs);
      const rel = relative(dir, abs).split(sep).join('/');
      if (name === '.git')
        throw unsafePath(`${what}: ${printable(rel)} in the skeleton is a git folder; skeletons hold plain files`, {
          file: rel,
        });
      if (st.isSymbolicLink())
        throw unsafePath(`${what}: ${printable(rel)} in the skeleton is a symbolic link; links are never copied`, {
          file: rel,
        });
      if (st.isDirectory()) await walk(abs);
      else if (st.isFile()) {
        budget.add(st.size);
        out.push({ rel, abs, size: st.size, mode: st.mode & 0o777 });
      } else throw unsafePath(`${what}: ${printable(rel)} in the skeleton is not a regular file`, { file: rel });
    }
  };
  await walk(dir);
  return out;
}

/** Writes a file inside the workspace: the path is checked for links, and the open never follows one. */
export async function writeInside(
  root: string,
  rel: string,
  data: Buffer,
  mode: number,
  what: string,
): Promise<string> {
  const abs = await writablePath(root, rel, what);
  await mkdirInside(root, dirname(abs), what);
  const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
  return abs;
}

/** A file that is not UTF-8 text (a NUL byte, or bytes that do not decode) is copied as it is. */
export function isBinary(data: Buffer): boolean {
  if (data.subarray(0, 8000).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return false;
  } catch {
    return true;
  }
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

async function copySkeleton(
  ctx: ActionContext,
  limits: FileLimits,
  render: boolean,
  checkout: GitCheckoutFn | undefined,
): Promise<void> {
  const input = ctx.input;
  const action = render ? 'fetch:template' : 'fetch:plain';
  if (input.cookiecutterCompat === true)
    throw new IdpError(
      'TEMPLATE_INVALID',
      `${ctx.stepId}: cookiecutterCompat is not supported; idp renders skeletons with Nunjucks and \${{ values.x }} only`,
      { field: 'cookiecutterCompat' },
    );
  const skeleton = await skeletonDir(ctx, String(input.url), checkout);
  try {
    await copyFrom(ctx, skeleton.dir, limits, render, action);
  } finally {
    await skeleton.cleanup();
  }
}

async function copyFrom(
  ctx: ActionContext,
  source: string,
  limits: FileLimits,
  render: boolean,
  action: string,
): Promise<void> {
  const input = ctx.input;
  const targetPath = typeof input.targetPath === 'string' ? input.targetPath : './';
  const target = insideRoot(ctx.workspace, targetPath, 'targetPath');
  await mkdirInside(ctx.workspace, target, 'targetPath');
  const files = await listSkeleton(source, limits, `${ctx.stepId} (${action})`);
  const verbatim = [...stringList(input.copyWithoutRender), ...stringList(input.copyWithoutTemplating)].map(
    globToRegExp,
  );
  const ext =
    input.templateFileExtension === true
      ? '.njk'
      : typeof input.templateFileExtension === 'string' && input.templateFileExtension
        ? input.templateFileExtension.startsWith('.')
          ? input.templateFileExtension
          : `.${input.templateFileExtension}`
        : undefined;
  if (ext && verbatim.length)
    throw new IdpError(
      'TEMPLATE_INVALID',
      `${ctx.stepId}: templateFileExtension and copyWithoutRender cannot be used together (as in Backstage)`,
      { field: 'templateFileExtension' },
    );
  const values = (input.values ?? {}) as Record<string, unknown>;
  const budget = new FileBudget(limits, `${ctx.stepId} (${action}), the workspace in all`);
  const there = await usageOf(ctx.workspace, limits.maxFiles);
  budget.seed(there.files, there.bytes);
  let written = 0;
  for (const f of files) {
    let outRel = f.rel;
    let renderContents = render;
    let renderName = render;
    if (render && ext) {
      renderContents = f.rel.endsWith(ext);
      if (renderContents) outRel = outRel.slice(0, -ext.length);
    } else if (render && matchesAny(f.rel, verbatim)) renderContents = renderName = false;
    if (renderName) outRel = await ctx.renderer.renderText(outRel, { values }, `${action} file name ${f.rel}`);
    insideRoot(target, outRel, `${action} file name ${printable(outRel)} (from ${f.rel})`);
    if (outRel.split('/').some((s) => s.trim() === '')) {
      // A name rendered empty (e.g. `{% if x %}name{% endif %}`): the file is left out, as Backstage does.
      ctx.log(`${f.rel}: its name renders empty, not written`);
      continue;
    }
    let data = await readFile(f.abs);
    if (renderContents && !isBinary(data))
      data = Buffer.from(await ctx.renderer.renderText(data.toString('utf8'), { values }, f.rel), 'utf8');
    budget.add(data.length);
    await writeInside(target, outRel, data, f.mode, `${action} file ${printable(outRel)}`);
    written++;
  }
  const shown = relative(ctx.workspace, target) || '.';
  ctx.log(`${action}: ${written} file${written === 1 ? '' : 's'} written to ${shown}`);
}

const fetchInput = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1 },
    targetPath: { type: 'string', default: './' },
  },
};

/** `checkout` clones the repository of a template read from a git location (the catalog's). */
export function fetchActions(limits: FileLimits, checkout?: GitCheckoutFn): TemplateAction[] {
  return [
    {
      id: 'fetch:template',
      description:
        'Copies a skeleton folder from beside the template (on disk or in its git repository) into the workspace, rendering files and their names with ${{ values.x }}.',
      inputSchema: {
        ...fetchInput,
        properties: {
          ...fetchInput.properties,
          values: { type: 'object' },
          copyWithoutRender: { type: 'array', items: { type: 'string' } },
          copyWithoutTemplating: { type: 'array', items: { type: 'string' } },
          templateFileExtension: { type: ['boolean', 'string'] },
          cookiecutterCompat: { type: 'boolean' },
          replace: { type: 'boolean' },
        },
      },
      handler: (ctx) => copySkeleton(ctx, limits, true, checkout),
    },
    {
      id: 'fetch:plain',
      description: 'Copies a folder from beside the template into the workspace as it is.',
      inputSchema: fetchInput,
      handler: (ctx) => copySkeleton(ctx, limits, false, checkout),
    },
  ];
}
