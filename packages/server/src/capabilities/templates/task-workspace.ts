// Task workspaces: <workspaces>/<task id>, made when a task starts and removed when it completes
// or is cancelled (a failed task's stays for a retry, until its TTL); a dry run's files are read
// back from its scratch workspace (links are not followed, sizes bounded).
import { lstat, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { IdpError, type DryRunResult } from '@idp/contracts';

export function workspaceOf(root: string, taskId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(taskId)) throw new Error(`bad task id ${taskId}`);
  return join(resolve(root), taskId);
}

export async function makeWorkspace(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Removes a workspace; only ever a folder directly under the workspaces root. */
export async function removeWorkspace(root: string, dir: string): Promise<void> {
  const rel = relative(resolve(root), resolve(dir));
  if (!rel || rel.startsWith('..') || rel.includes(sep)) return;
  await rm(dir, { recursive: true, force: true });
}

/** Every regular file of a dry run's workspace: UTF-8 text, or base64 when it is not valid UTF-8. */
export async function collectFiles(
  dir: string,
  limits: { maxFiles: number; maxBytes: number },
): Promise<DryRunResult['files']> {
  const files: DryRunResult['files'] = [];
  let bytes = 0;
  const walk = async (at: string, depth: number): Promise<void> => {
    if (depth > 64) return;
    const entries = (await readdir(at, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = join(at, e.name);
      if (e.isDirectory()) {
        await walk(full, depth + 1);
        continue;
      }
      if (!e.isFile()) continue; // links and devices are not files of the result
      if (files.length >= limits.maxFiles) throw tooMuch(`more than ${limits.maxFiles} files`);
      const st = await lstat(full);
      bytes += st.size;
      if (bytes > limits.maxBytes) throw tooMuch(`more than ${limits.maxBytes} bytes`);
      const fh = await open(full, 'r');
      let data: Buffer;
      try {
        data = await fh.readFile();
      } finally {
        await fh.close();
      }
      const text = data.toString('utf8');
      const utf8 = Buffer.from(text, 'utf8').equals(data);
      files.push({
        path: relative(dir, full).split(sep).join('/'),
        content: utf8 ? text : data.toString('base64'),
        base64: !utf8,
        executable: (st.mode & 0o111) !== 0,
      });
    }
  };
  await walk(dir, 0);
  return files;
}

function tooMuch(what: string): IdpError {
  return new IdpError('TEMPLATE_ACTION_FAILED', `the dry run's workspace holds ${what} (templates.limits)`, {
    hint: 'Look for a step that writes more files than the template needs; the limits are templates.limits in idp.config.yaml.',
  });
}
