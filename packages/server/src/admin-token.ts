import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminToken {
  token: string;
  /** Where it came from, for the start-up message; never the token itself. */
  source: string;
  created: boolean;
}

/**
 * The bootstrap admin token: IDP_ADMIN_TOKEN when set, otherwise <data-dir>/admin-token,
 * created on first start with mode 0600 so only the operator's account can read it.
 */
export function resolveAdminToken(dataDir: string, fromEnv: string | undefined): AdminToken {
  if (fromEnv && fromEnv.trim()) return { token: fromEnv.trim(), source: 'IDP_ADMIN_TOKEN', created: false };
  const file = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) {
      // Tighten a file someone loosened; the token grants everything.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { token, source: file, created: false };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = `idp_admin_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return { token, source: file, created: true };
}
