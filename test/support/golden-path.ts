// The shipped golden paths (examples/acme/templates) against a real `idp server` process: a
// config with the demo's template location and publish remote on a fresh envFixture (its own
// staging to clone), API tokens, and what a template's defaults make (repository, environment,
// host on the edge proxy). Used by test/e2e/golden-path.test.ts and bench/golden-path.bench.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { EnvFixture } from './environments.ts';
import { ROOT, ACME_REAL_CONFIG, api, freePort, startServerProcess } from './server.ts';

/** Where the templates' default remotes live: file:///tmp/idp-git/acme/<name>.git (see examples/acme/idp.config.yaml). */
export const GIT_REMOTES = '/tmp/idp-git';

/** The bare repository a template run with its defaults publishes `name` to. */
export const defaultRemote = (name: string): string => join(GIT_REMOTES, 'acme', `${name}.git`);

/** The environment a template run with its defaults creates for `name`. */
export const defaultEnvironment = (name: string): string => `${name}-dev`;

/** The demo config's `templates:` section and template location, on the fixture's config. */
export function goldenPathConfig(fx: EnvFixture, extra: { workspaces?: string } = {}): string {
  const doc = parseDocument(readFileSync(fx.configPath, 'utf8'));
  const demo = parseDocument(readFileSync(ACME_REAL_CONFIG, 'utf8'));
  const locations = doc.getIn(['catalog', 'locations']) as { items: unknown[] };
  locations.items.push(doc.createNode(join(ROOT, 'examples/acme/templates/*/template.yaml')));
  doc.set('templates', demo.get('templates'));
  if (extra.workspaces) doc.setIn(['templates', 'workspaces'], extra.workspaces);
  const path = join(fx.dir, 'idp.golden-path.config.yaml');
  writeFileSync(path, doc.toString());
  // The allowed prefix must exist; the repositories under it are made by publish:git.
  mkdirSync(GIT_REMOTES, { recursive: true });
  return path;
}

export type ServerProcess = Awaited<ReturnType<typeof startServerProcess>>;

export interface GoldenServer {
  proc: ServerProcess;
  proxyPort: number;
  /** The server's env: CLI calls get IDP_URL and a token from it. */
  cliEnv(token: string): Record<string, string>;
}

/** `idp server` on the config, `dataDir` and a fixed proxy port (the same across a restart). */
export async function startGoldenServer(
  config: string,
  dataDir: string,
  adminToken: string,
  proxyPort?: number,
): Promise<GoldenServer> {
  const port = proxyPort ?? (await freePort());
  const proc = await startServerProcess(['--data-dir', dataDir, '--config', config], {
    IDP_ADMIN_TOKEN: adminToken,
    IDP_PROXY_PORT: String(port),
    IDP_LOG_LEVEL: 'warn',
  });
  return { proc, proxyPort: port, cliEnv: (token) => ({ IDP_URL: proc.url, IDP_TOKEN: token }) };
}

/** An API token for `<user>@company.com`, made by the admin. */
export async function userToken(server: { url: string }, adminToken: string, user: string): Promise<string> {
  const res = await api(server, adminToken, 'POST', '/api/tokens', { user: `${user}@company.com`, ttl: '1d' });
  if (res.status !== 201) throw new Error(`token for ${user}: ${res.status} ${res.text}`);
  return res.json.token as string;
}

/** Removes what a run of a template for `name` made outside the control plane (its bare repository). */
export function removeRemote(name: string): void {
  rmSync(defaultRemote(name), { recursive: true, force: true });
}
