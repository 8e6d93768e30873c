// fs:rename, fs:delete and debug:log: workspace-only actions. Paths are relative to the workspace,
// never absolute, never up with `..`, never through a link (a link itself may be deleted or renamed).
import { lstat, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { IdpError } from '@idp/contracts';
import type { ActionContext, TemplateAction } from '../types.ts';
import { globToRegExp } from './glob.ts';
import { assertNoLinks, insideRoot, mkdirInside, printable } from './workspace.ts';

/** The workspace's entries (relative, `/`-separated), folders before what they hold; links not entered. */
export async function listWorkspace(root: string, max = 10_000): Promise<{ rel: string; dir: boolean }[]> {
  const out: { rel: string; dir: boolean }[] = [];
  const walk = async (d: string): Promise<void> => {
    const names = (await readdir(d)).sort();
    for (const name of names) {
      if (out.length >= max) return;
      const abs = join(d, name);
      const st = await lstat(abs);
      const rel = relative(root, abs).split(sep).join('/');
      out.push({ rel, dir: st.isDirectory() });
      if (st.isDirectory() && name !== '.git') await walk(abs);
    }
  };
  await walk(root);
  return out;
}

async function fsDelete(ctx: ActionContext): Promise<void> {
  const globs = (ctx.input.files as string[]).map((g) => {
    insideRoot(ctx.workspace, g.replace(/^\.\//, ''), 'files');
    return globToRegExp(g);
  });
  const entries = await listWorkspace(ctx.workspace);
  const deleted: string[] = [];
  for (const e of entries) {
    if (deleted.some((d) => e.rel.startsWith(`${d}/`))) continue;
    if (!globs.some((g) => g.test(e.rel))) continue;
    const abs = join(ctx.workspace, e.rel);
    await assertNoLinks(ctx.workspace, dirname(abs), 'files');
    // rm of a link removes the link; of a folder, what it holds (links inside are not followed).
    await rm(abs, { recursive: true, force: true });
    deleted.push(e.rel);
  }
  ctx.log(`fs:delete: ${deleted.length ? deleted.map(printable).join(', ') : 'nothing matched'}`);
}

async function fsRename(ctx: ActionContext): Promise<void> {
  const files = ctx.input.files as { from: string; to: string; overwrite?: boolean }[];
  for (const f of files) {
    const from = insideRoot(ctx.workspace, f.from, 'files.from');
    const to = insideRoot(ctx.workspace, f.to, 'files.to');
    if (from === ctx.workspace || to === ctx.workspace)
      throw new IdpError('TEMPLATE_PATH_UNSAFE', 'fs:rename cannot move the workspace itself', { field: 'files' });
    await assertNoLinks(ctx.workspace, dirname(from), 'files.from');
    await assertNoLinks(ctx.workspace, to, 'files.to');
    if (!(await lstat(from).catch(() => null)))
      throw new IdpError('TEMPLATE_ACTION_FAILED', `fs:rename: ${printable(f.from)} does not exist in the workspace`, {
        field: 'files.from',
      });
    if ((await lstat(to).catch(() => null)) && !f.overwrite)
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `fs:rename: ${printable(f.to)} exists already; set overwrite: true to replace it`,
        { field: 'files.to' },
      );
    await mkdirInside(ctx.workspace, dirname(to), 'files.to');
    if (f.overwrite) await rm(to, { recursive: true, force: true });
    await rename(from, to);
    ctx.log(`fs:rename: ${printable(f.from)} → ${printable(f.to)}`);
  }
}

const MAX_LISTED_BYTES = 64 * 1024;

async function debugLog(ctx: ActionContext): Promise<void> {
  if (ctx.input.message !== undefined) ctx.log(String(ctx.input.message));
  const list = ctx.input.listWorkspace;
  if (!list) return;
  const entries = await listWorkspace(ctx.workspace, 2000);
  const files = entries.filter((e) => !e.dir);
  ctx.log(`workspace: ${files.length} file${files.length === 1 ? '' : 's'}`);
  let shown = 0;
  for (const e of files) {
    if (list !== 'with-contents') {
      ctx.log(`  ${printable(e.rel)}`);
      continue;
    }
    const abs = join(ctx.workspace, e.rel);
    const st = await lstat(abs);
    if (!st.isFile() || shown + st.size > MAX_LISTED_BYTES) {
      ctx.log(`  ${printable(e.rel)} (${st.isFile() ? `${st.size} bytes, not shown` : 'a link'})`);
      continue;
    }
    shown += st.size;
    ctx.log(`  ${printable(e.rel)}:\n${(await readFile(abs)).toString('utf8')}`);
  }
}

export function fsActions(): TemplateAction[] {
  return [
    {
      id: 'fs:delete',
      description: 'Deletes files and folders of the workspace matching globs.',
      inputSchema: {
        type: 'object',
        required: ['files'],
        properties: { files: { type: 'array', items: { type: 'string', minLength: 1 } } },
      },
      handler: fsDelete,
    },
    {
      id: 'fs:rename',
      description: 'Renames (moves) files and folders inside the workspace.',
      inputSchema: {
        type: 'object',
        required: ['files'],
        properties: {
          files: {
            type: 'array',
            items: {
              type: 'object',
              required: ['from', 'to'],
              properties: {
                from: { type: 'string', minLength: 1 },
                to: { type: 'string', minLength: 1 },
                overwrite: { type: 'boolean', default: false },
              },
            },
          },
        },
      },
      handler: fsRename,
    },
    {
      id: 'debug:log',
      description: "Writes a message to the task's log, and optionally the workspace's files.",
      inputSchema: {
        type: 'object',
        properties: {
          message: {},
          listWorkspace: { anyOf: [{ type: 'boolean' }, { enum: ['with-filenames', 'with-contents'] }] },
        },
      },
      handler: debugLog,
    },
  ];
}
