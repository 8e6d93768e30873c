import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The data dir is the control plane's alone: the folder 0700, every file directly in it 0600
 * (idp.sqlite and its journal, master.key, admin-token, …) and its folders 0700. Run at each
 * start, so a data dir made by an older version, or copied with other modes, is closed too.
 * Symlinks are left alone (never followed).
 */
export async function secureDataDir(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o700);
  for (const entry of await readdir(dataDir)) {
    const path = join(dataDir, entry);
    const st = await lstat(path);
    if (st.isFile() && (st.mode & 0o777) !== 0o600) await chmod(path, 0o600);
    else if (st.isDirectory() && (st.mode & 0o777) !== 0o700) await chmod(path, 0o700);
  }
}
