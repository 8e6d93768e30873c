// Setup for the Backstage catalog peer (bench/peers/backstage-catalog): installing it on demand,
// its config file, the figures expected from the entities file, and reading a process's memory.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
export const PEER_DIR = join(ROOT, 'bench/peers/backstage-catalog');

/** The peer's own package (npm, into its folder), installed the first time the bench needs it. */
export function ensurePeerInstalled(log: (line: string) => void): void {
  const installed = join(PEER_DIR, 'node_modules/@backstage/plugin-catalog-backend/package.json');
  const binary = join(PEER_DIR, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (existsSync(installed) && existsSync(binary)) return;
  log('installing Backstage catalog backend into bench/peers/backstage-catalog (npm ci; several minutes) …');
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: PEER_DIR,
    stdio: 'inherit',
    timeout: 20 * 60_000,
  });
  // better-sqlite3 is native and its prebuilt binaries come from outside the npm registry: reuse
  // idp's own build when it is the same version (the peer pins it to idp's), else compile it.
  const ours = join(ROOT, 'node_modules/better-sqlite3');
  const theirs = join(PEER_DIR, 'node_modules/better-sqlite3');
  const version = (dir: string): string =>
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  if (existsSync(join(ours, 'build/Release/better_sqlite3.node')) && version(ours) === version(theirs)) {
    cpSync(join(ours, 'build'), join(theirs, 'build'), { recursive: true });
    log(`better-sqlite3 ${version(theirs)}: reused idp's own native build`);
  } else {
    log('better-sqlite3: compiling the native module (node-gyp) …');
    execFileSync('npm', ['rebuild', 'better-sqlite3', '--foreground-scripts'], { cwd: PEER_DIR, stdio: 'inherit' });
  }
}

export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export function pgTarget(url: string): PgTarget {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** Backstage's app-config for the peer: the catalog plugin alone, one file location, every kind
 * allowed, the processing interval given and the fastest stitching. */
export function writePeerConfig(o: {
  path: string;
  port: number;
  file: string;
  intervalSeconds: number;
  sqliteDir?: string;
  pg?: PgTarget & { prefix: string };
}): void {
  const database = o.pg
    ? {
        client: 'pg',
        prefix: o.pg.prefix,
        connection: {
          host: o.pg.host,
          port: o.pg.port,
          user: o.pg.user,
          ...(o.pg.password ? { password: o.pg.password } : {}),
        },
      }
    : { client: 'better-sqlite3', connection: { directory: o.sqliteDir } };
  const config = {
    app: { baseUrl: 'http://127.0.0.1:3000' },
    backend: {
      baseUrl: `http://127.0.0.1:${o.port}`,
      listen: { host: '127.0.0.1', port: o.port },
      auth: { dangerouslyDisableDefaultAuthPolicy: true },
      database,
    },
    catalog: {
      processingInterval: { seconds: o.intervalSeconds },
      // Deferred stitching (Backstage's only mode) polls every second by default: 100 ms makes
      // processed entities queryable sooner.
      stitchingStrategy: { pollingInterval: { milliseconds: 100 } },
      rules: [{ allow: ['Component', 'System', 'API', 'Resource', 'Location', 'Domain', 'Group', 'User'] }],
      locations: [{ type: 'file', target: o.file }],
    },
  };
  // JSON is YAML: Backstage's config loader reads it as is.
  writeFileSync(o.path, JSON.stringify(config, null, 2));
}

/** What a complete ingest of the file shows through the catalog API. */
export interface Expected {
  entities: number;
  kinds: string[];
  components: number;
  owned: number; // entities with spec.owner (each gets an ownedBy relation)
  dependedOn: number; // distinct dependsOn targets (each gets a dependencyOf relation)
  topOwner: { ref: string; ownerOf: number }; // reverse relations on the busiest group
}

export function expectedFrom(file: string): Expected {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as EntityDoc);
  const kinds = new Set<string>();
  const owners = new Map<string, number>();
  const dependedOn = new Set<string>();
  const refs = new Set(docs.map((e) => `${e.kind}:${e.metadata.name}`.toLowerCase()));
  let owned = 0;
  for (const e of docs) {
    kinds.add(e.kind);
    if (e.spec?.owner) {
      owned++;
      owners.set(e.spec.owner, (owners.get(e.spec.owner) ?? 0) + 1);
    }
    for (const d of e.spec?.dependsOn ?? []) if (refs.has(d.toLowerCase())) dependedOn.add(d.toLowerCase());
  }
  const [top, count] = [...owners]
    .filter(([g]) => refs.has(`group:${g}`.toLowerCase()))
    .sort((a, b) => b[1] - a[1])[0]!;
  return {
    entities: docs.length,
    kinds: [...kinds],
    components: docs.filter((e) => e.kind === 'Component').length,
    owned,
    dependedOn: dependedOn.size,
    topOwner: { ref: `group:default/${top.toLowerCase()}`, ownerOf: count },
  };
}

interface EntityDoc {
  kind: string;
  metadata: { name: string };
  spec?: { owner?: string; dependsOn?: string[] };
}

/** The same file with a label on every entity: re-ingesting it changes every entity. */
export function writeRelabelled(from: string, to: string, round: number): void {
  const text = readFileSync(from, 'utf8').replace(
    /^metadata:\n/gm,
    `metadata:\n  labels:\n    bench-round: "${round}"\n`,
  );
  writeFileSync(to, text);
}

export function copyEntities(from: string, to: string): void {
  copyFileSync(from, to);
}

/** Resident memory of a process in bytes (VmRSS) and its high-water mark (VmHWM), from /proc. */
export function processMemory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}
