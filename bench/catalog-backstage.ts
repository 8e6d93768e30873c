// The catalog benchmark's peer: Backstage's own catalog backend (bench/peers/backstage-catalog,
// @backstage/plugin-catalog-backend with @backstage/backend-defaults, installed there on demand)
// given the same entities file, on SQLite or PostgreSQL. runBackstage() starts it as its own
// process and measures, through its HTTP API:
// - ingest: from the backend answering HTTP until every entity is queryable and every relation
//   is (ownedBy on every owned entity, dependencyOf on every dependsOn target, the reverse ownerOf
//   of the busiest group); bounded by a timeout that reports how far it got;
// - by-query, by-name and facets latencies (the queries idp's side uses: CATALOG_QUERIES);
// - peak RSS of the backend process (/proc, sampled, and the kernel's high-water mark);
// - query latencies while a full re-ingest runs: every entity in the file changed (a label), the
//   location refreshed, until every entity shows the change.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  PEER_DIR,
  copyEntities,
  ensurePeerInstalled,
  expectedFrom,
  freePort,
  pgTarget,
  processMemory,
  writePeerConfig,
  writeRelabelled,
  type Expected,
} from './catalog-backstage-setup.js';

/** The same requests on both sides (paths under /api/catalog). */
export const CATALOG_QUERIES = {
  byQuery: '/entities/by-query?filter=kind%3Dcomponent%2Cspec.type%3Dservice&limit=50',
  byName: (i: number, components = 8280): string =>
    `/entities/by-name/component/default/comp-${String((i * 97) % components).padStart(4, '0')}`,
  facets: '/entity-facets?facet=spec.type&facet=spec.lifecycle&facet=metadata.tags&filter=kind%3Dcomponent',
};

export type PeerStore = 'sqlite' | 'postgres';
export type Figures = Record<string, number | string>;

export interface PeerOptions {
  file: string; // the entities file (10,000 entities)
  pgUrl?: string; // admin URL of the PostgreSQL server (a throwaway database is made and dropped)
  ingestTimeoutMs?: number; // default IDP_BENCH_BACKSTAGE_TIMEOUT_S or 600 s
  reingestTimeoutMs?: number; // default half of that
  // catalog.processingInterval. New entities are processed at once whatever it is; it only sets how
  // often every entity is processed again. Backstage's floor, 1 s, stalls a 10,000-entity ingest
  // (the file's location re-emits every entity each second), so the default is an hour and the
  // re-ingest is Backstage's own refresh of the location instead.
  intervalSeconds?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
}

export async function runBackstage(store: PeerStore, o: PeerOptions): Promise<Figures> {
  const log = o.log ?? ((line: string) => console.log(line));
  const ingestTimeoutMs = o.ingestTimeoutMs ?? Number(process.env.IDP_BENCH_BACKSTAGE_TIMEOUT_S ?? 600) * 1000;
  const reingestTimeoutMs = o.reingestTimeoutMs ?? ingestTimeoutMs / 2;
  ensurePeerInstalled(log);
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-backstage-'));
  const file = join(work, 'entities.yaml');
  copyEntities(o.file, file);
  const expected = expectedFrom(file);
  const port = await freePort();
  const prefix = `idp_bench_bs_${process.pid}_${Date.now()}_`;
  const pgAdmin = store === 'postgres' ? (o.pgUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres') : undefined;
  writePeerConfig({
    path: join(work, 'app-config.yaml'),
    port,
    file,
    intervalSeconds: o.intervalSeconds ?? Number(process.env.IDP_BENCH_BACKSTAGE_INTERVAL_S ?? 3600),
    ...(pgAdmin ? { pg: { ...pgTarget(pgAdmin), prefix } } : { sqliteDir: join(work, 'sqlite') }),
  });
  const logFile = join(work, 'backend.log');
  const out = openSync(logFile, 'a');
  const t0 = performance.now();
  const child = spawn(process.execPath, ['backend.mjs', '--config', join(work, 'app-config.yaml')], {
    cwd: PEER_DIR,
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', out, out],
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited (${code ?? signal})`));
  let peakRss = 0;
  const sampler = setInterval(() => {
    const m = processMemory(child.pid!);
    if (m) peakRss = Math.max(peakRss, m.rss, m.hwm);
  }, 200);
  const base = `http://127.0.0.1:${port}/api/catalog`;
  const figures: Figures = {};
  try {
    const fail = (what: string): Error =>
      new Error(`Backstage (${store}): ${what}${exited ? `; the backend ${exited}` : ''}\n${tail(logFile)}`);
    while ((await status(`${base}/entities/by-query?limit=0`)) !== 200) {
      if (exited || performance.now() - t0 > 180_000) throw fail('did not answer HTTP within 180 s');
      await sleep(250);
    }
    const ready = performance.now();
    figures['start ms'] = Math.round(ready - t0);
    const ingest = await waitIngested(base, expected, ingestTimeoutMs, () => exited);
    if (ingest.done) figures['ingest ms'] = Math.round(performance.now() - ready);
    else {
      figures['ingest ms'] = `timeout ${Math.round(ingestTimeoutMs / 1000)} s (${ingest.progress})`;
      log(`Backstage on ${store}: ${figures['ingest ms']}`);
      return figures;
    }
    figures['ingest progress'] = ingest.progress;
    await timeMany(20, () => get(`${base}${CATALOG_QUERIES.byQuery}`));
    const byQuery = await timeMany(200, () => get(`${base}${CATALOG_QUERIES.byQuery}`));
    const byName = await timeMany(200, (i) => get(`${base}${CATALOG_QUERIES.byName(i, expected.components)}`));
    const facets = await timeMany(50, () => get(`${base}${CATALOG_QUERIES.facets}`));
    Object.assign(figures, {
      'by-query p50 ms': pct(byQuery, 50),
      'by-query p95 ms': pct(byQuery, 95),
      'by-name p50 ms': pct(byName, 50),
      'facets p50 ms': pct(facets, 50),
    });
    Object.assign(figures, await reingest(base, file, o.file, expected, reingestTimeoutMs));
    return figures;
  } finally {
    clearInterval(sampler);
    const m = processMemory(child.pid!);
    if (m) peakRss = Math.max(peakRss, m.rss, m.hwm);
    figures['peak RSS MiB'] = Math.round(peakRss / 2 ** 20);
    await stop(child);
    if (pgAdmin) await dropDatabase(pgAdmin, `${prefix}catalog`);
    // The backend's own log stays for a look after the run.
    const kept = join(tmpdir(), `idp-bench-backstage-${store}.log`);
    copyFileSync(logFile, kept);
    rmSync(work, { recursive: true, force: true });
    log(`Backstage catalog backend on ${store} (its log: ${kept}): ${JSON.stringify(figures)}`);
  }
}

async function status(url: string): Promise<number> {
  try {
    const r = await fetch(url);
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

async function get(url: string): Promise<void> {
  // One retry when the connection fails (an idle keep-alive connection the backend closed).
  const r = await fetch(url).catch(() => fetch(url));
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${(await r.text()).slice(0, 300)}`);
  await r.arrayBuffer();
}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${(await r.text()).slice(0, 300)}`);
  return (await r.json()) as T;
}

async function timeMany(n: number, f: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const total = async (base: string, filters: string[]): Promise<number> =>
  (
    await json<{ totalItems: number }>(
      `${base}/entities/by-query?limit=0&${filters.map((f) => `filter=${encodeURIComponent(f)}`).join('&')}`,
    )
  ).totalItems;

/** How far the catalog is: "entities a/b, ownedBy c/d, dependencyOf e/f, ownerOf g/h". */
async function progress(base: string, x: Expected, extra: string[] = []): Promise<{ done: boolean; text: string }> {
  const kinds = x.kinds.map((k) => [`kind=${k.toLowerCase()}`, ...extra].join(','));
  const entities = await total(base, kinds);
  const owned = await total(base, [['relations.ownedby', ...extra].join(',')]);
  const dependedOn = await total(base, [['relations.dependencyof', ...extra].join(',')]);
  const [kind, rest] = x.topOwner.ref.split(':') as [string, string];
  const [ns, name] = rest.split('/') as [string, string];
  const group = await fetch(`${base}/entities/by-name/${kind}/${ns}/${name}`);
  const ownerOf =
    group.status === 200
      ? (((await group.json()) as { relations?: { type: string }[] }).relations?.filter((r) => r.type === 'ownerOf')
          .length ?? 0)
      : (await group.arrayBuffer(), 0);
  const text = `entities ${entities}/${x.entities}, ownedBy ${owned}/${x.owned}, dependencyOf ${dependedOn}/${x.dependedOn}, ${x.topOwner.ref} ownerOf ${ownerOf}/${x.topOwner.ownerOf}`;
  const done =
    entities === x.entities && owned === x.owned && dependedOn === x.dependedOn && ownerOf === x.topOwner.ownerOf;
  return { done, text };
}

/** progress(), or undefined when a request failed (a busy backend may drop an idle connection):
 * the next poll asks again. */
async function tryProgress(base: string, x: Expected, extra: string[]) {
  try {
    return await progress(base, x, extra);
  } catch {
    return undefined;
  }
}

async function waitIngested(
  base: string,
  x: Expected,
  timeoutMs: number,
  exited: () => string | undefined,
  extra: string[] = [],
): Promise<{ done: boolean; progress: string }> {
  const start = performance.now();
  let last = 'nothing yet';
  while (performance.now() - start < timeoutMs && !exited()) {
    const p = await tryProgress(base, x, extra);
    if (p) last = p.text;
    if (p?.done) return { done: true, progress: last };
    await sleep(1000);
  }
  return { done: false, progress: last };
}

/** A full re-ingest: every entity of the file changed (a label), the file's location refreshed
 * (Backstage's refresh), while by-query runs back to back; until every entity shows the label. */
async function reingest(
  base: string,
  file: string,
  original: string,
  x: Expected,
  timeoutMs: number,
): Promise<Figures> {
  writeRelabelled(original, file, 2);
  const locations = await json<{ items: { metadata: { name: string; namespace?: string } }[] }>(
    `${base}/entities/by-query?filter=kind%3Dlocation&limit=100`,
  );
  const t0 = performance.now();
  for (const l of locations.items) {
    const r = await fetch(`${base}/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entityRef: `location:${l.metadata.namespace ?? 'default'}/${l.metadata.name}` }),
    });
    if (r.status >= 300) throw new Error(`refresh of the location: ${r.status} ${await r.text()}`);
  }
  const latencies: number[] = [];
  let done = false;
  let last = '';
  const checker = (async () => {
    while (!done && performance.now() - t0 < timeoutMs) {
      const p = await tryProgress(base, x, ['metadata.labels.bench-round=2']);
      if (p) last = p.text;
      if (p?.done) return true;
      await sleep(1000);
    }
    return false;
  })();
  const finished = checker.then((ok) => ((done = true), ok));
  while (!done) {
    const t = performance.now();
    await get(`${base}${CATALOG_QUERIES.byQuery}`);
    latencies.push(performance.now() - t);
  }
  const ok = await finished;
  const elapsed = Math.round(performance.now() - t0);
  latencies.sort((a, b) => a - b);
  return {
    're-ingest ms': ok ? elapsed : `timeout ${Math.round(timeoutMs / 1000)} s (${last})`,
    're-ingest queries': latencies.length,
    're-ingest query p99 ms': pct(latencies, 99),
    're-ingest query max ms': Number((latencies.at(-1) ?? NaN).toFixed(2)),
    're-ingest queries > 50 ms': latencies.filter((l) => l > 50).length,
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}
