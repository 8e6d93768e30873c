import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What the control plane keeps in its data dir: files 0600, folders 0700. */
const FILES = /^(idp\.sqlite(-wal|-shm|-journal)?|master\.key|admin-token|audit\.key)$/;
const FOLDERS = new Set(['releases', 'namespaces', 'build', 'sandbox']);

/**
 * The data dir is the control plane's alone: the folder 0700, its own files (idp.sqlite and its
 * journal, master.key, admin-token, audit.key) 0600 and its folders 0700. Run at each start, so
 * a data dir made by an older version, or copied with other modes, is closed too. Only what idp
 * keeps there is touched (a data dir pointed at a shared folder by mistake keeps its other
 * files' modes), a shared sticky folder such as /tmp is never closed, and symlinks are never
 * followed. Returns warnings for the start-up log.
 */
export async function secureDataDir(dataDir: string): Promise<string[]> {
  const warnings: string[] = [];
  const st = await lstat(dataDir);
  if (st.mode & 0o1000)
    warnings.push(`the data dir ${dataDir} is a shared sticky folder: its mode is left alone; use a folder of its own`);
  else if ((st.mode & 0o777) !== 0o700) await chmod(dataDir, 0o700);
  for (const entry of await readdir(dataDir)) {
    const path = join(dataDir, entry);
    const info = await lstat(path);
    if (info.isFile() && FILES.test(entry) && (info.mode & 0o777) !== 0o600) await chmod(path, 0o600);
    else if (info.isDirectory() && FOLDERS.has(entry) && (info.mode & 0o777) !== 0o700) await chmod(path, 0o700);
  }
  return warnings;
}
