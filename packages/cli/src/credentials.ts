import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { IdpError } from '@idp/contracts';

export const DEFAULT_URL = 'http://localhost:7070';

/** What `idp login` stores. */
export interface StoredCredentials {
  url: string;
  token: string;
}

export interface Connection {
  url: string;
  token?: string;
}

type Env = NodeJS.ProcessEnv;

/** IDP_CONFIG_DIR wins (tests, several profiles), then the XDG base directory convention. */
export function configDir(env: Env = process.env): string {
  if (env.IDP_CONFIG_DIR) return env.IDP_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'idp');
}

export function credentialsPath(env: Env = process.env): string {
  return join(configDir(env), 'config.json');
}

export function readCredentials(
  env: Env = process.env,
  warn: (line: string) => void = () => {},
): StoredCredentials | undefined {
  const path = credentialsPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IdpError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, {
      field: path,
      hint: 'Check the file permissions, or run `idp login` again.',
    });
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    warn(`Warning: ${path} holds an API token and is readable by others; run: chmod 600 ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const stored = parsed as Partial<StoredCredentials> | undefined;
  if (!stored || typeof stored.url !== 'string' || typeof stored.token !== 'string') {
    throw new IdpError('CONFIG_INVALID', `${path} is not a valid idp login file`, {
      field: path,
      hint: `Run \`idp login --url URL --token TOKEN\` again, or delete ${path}.`,
    });
  }
  return { url: stored.url, token: stored.token };
}

/** Written to a temp file and renamed, so a crash never leaves half a token behind. */
export function writeCredentials(creds: StoredCredentials, env: Env = process.env): string {
  const path = credentialsPath(env);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ url: creds.url, token: creds.token }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/** Resolves to whether there was a file to remove. */
export function removeCredentials(env: Env = process.env): boolean {
  try {
    rmSync(credentialsPath(env));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * IDP_URL and IDP_TOKEN override the login file field by field. The stored token is only sent
 * to the control plane it was stored for: pointing IDP_URL elsewhere must not leak it.
 */
export function resolveConnection(env: Env, stored: StoredCredentials | undefined): Connection {
  const url = env.IDP_URL || stored?.url || DEFAULT_URL;
  const token = env.IDP_TOKEN || (stored && sameOrigin(stored.url, url) ? stored.token : undefined);
  return token ? { url, token } : { url };
}

function sameOrigin(a: string, b: string): boolean {
  try {
    const left = new URL(a);
    const right = new URL(b);
    return left.origin === right.origin && left.pathname.replace(/\/+$/, '') === right.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}
