// idp's side of the catalog benchmark: the control plane as its own process (`idp server`, the
// compiled build when it is current: bench/catalog.bench.ts builds it first) on SQLite or PostgreSQL, given the entities file, measured through its HTTP API with the same
// requests as Backstage's side (CATALOG_QUERIES):
// - ingest: registering the file until the answer (read, validate, relations, search index and the
//   stitched entities commit in one transaction: every entity and relation is queryable then);
// - by-query, by-name and facets latencies; impact of the deepest node, first page and whole;
// - peak RSS of the server process (/proc VmRSS sampled, and VmHWM);
// - by-query latencies while a full re-ingest runs (every entity changed: a label), p99 and max.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import pg from 'pg';
import { parseDocument } from 'yaml';

export type Figures = Record<string, number | string>;

const ROOT = resolve(import.meta.dirname, '..');
const BENCH_CONFIG = join(ROOT, 'examples/acme/idp.bench-catalog.config.yaml');

/** The same requests as the Backstage side (bench/catalog-backstage.ts exports them too). */
export const QUERIES = {
  byQuery: '/entities/by-query?filter=kind%3Dcomponent%2Cspec.type%3Dservice&limit=50',
  byName: (i: number, components = 8280): string =>
    `/entities/by-name/component/default/comp-${String((i * 97) % components).padStart(4, '0')}`,
  facets: '/entity-facets?facet=spec.type&facet=spec.lifecycle&facet=metadata.tags&filter=kind%3Dcomponent',
};

export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
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

/** The same file with a label on every entity: re-ingesting it changes every entity. */
export function relabel(from: string, to: string, round: number): void {
  const text = readFileSync(from, 'utf8').replace(
    /^metadata:\n/gm,
    `metadata:\n  labels:\n    bench-round: "${round}"\n`,
  );
  writeFileSync(to, text);
}

function memoryOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return Math.max(kb('VmRSS'), kb('VmHWM'));
  } catch {
    return 0;
  }
}

/**
 * The demo's config with the periodic catalog refresh pushed out of the run (it would re-read the
 * 10,000-entity file in the middle of a measurement); written next to it, as its paths are relative.
 */
function benchConfig(): string {
  const original = join(ROOT, 'examples/acme/idp.config.yaml');
  const doc = parseDocument(readFileSync(original, 'utf8'));
  doc.setIn(['catalog', 'refreshInterval'], '24h');
  writeFileSync(BENCH_CONFIG, doc.toString());
  return BENCH_CONFIG;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

async function startIdp(
  dataDir: string,
  databaseUrl: string | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'packages/cli/bin/idp.js'), 'server', '--port', String(port), '--data-dir', dataDir],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        IDP_ADMIN_TOKEN: 'bench',
        IDP_CONFIG: benchConfig(),
        ...(databaseUrl ? { IDP_DATABASE_URL: databaseUrl } : {}),
        IDP_PROXY_PORT: '0',
        IDP_OTLP_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  for (const t0 = performance.now(); ;) {
    if (exited !== undefined) throw new Error(`the idp server exited (${exited}) before it answered`);
    const ok = await fetch(`${url}/readyz`)
      .then(async (r) => (await r.arrayBuffer(), r.status === 200))
      .catch(() => false);
    if (ok) return { child, url };
    if (performance.now() - t0 > 120_000) throw new Error('the idp server did not answer /readyz within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withDatabase<T>(pgAdmin: string | undefined, f: (url: string | undefined) => Promise<T>): Promise<T> {
  if (!pgAdmin) return f(undefined);
  const name = `idp_bench_catalog_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: pgAdmin });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    const url = new URL(pgAdmin);
    url.pathname = `/${name}`;
    return await f(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

/** idp's figures on one store (`pgAdmin`: a PostgreSQL admin URL; a throwaway database is made). */
export async function runIdp(file: string, pgAdmin?: string): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-catalog-'));
  const target = join(dataDir, 'entities.yaml');
  writeFileSync(target, readFileSync(file));
  try {
    return await withDatabase(pgAdmin, async (databaseUrl) => {
      const { child, url } = await startIdp(dataDir, databaseUrl);
      let peak = memoryOf(child.pid!);
      const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(child.pid!))), 100);
      const h = { authorization: 'Bearer bench', 'content-type': 'application/json' };
      const get = async (path: string) => {
        const r = await fetch(`${url}${path}`, { headers: h });
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
        return r.json() as Promise<Record<string, unknown>>;
      };
      const figures: Figures = {};
      try {
        const t0 = performance.now();
        const res = await fetch(`${url}/api/catalog/idp/locations`, {
          method: 'POST',
          headers: h,
          body: JSON.stringify({ target, type: 'file' }),
        });
        const body = (await res.json()) as { added: number; errors: number; location: { id: string } };
        figures['ingest ms'] = Math.round(performance.now() - t0);
        if (res.status !== 201) throw new Error(`register failed: ${JSON.stringify(body)}`);
        figures['entities added'] = body.added;
        figures['ingest errors'] = body.errors;

        const c = '/api/catalog';
        await timeMany(20, () => get(c + QUERIES.byQuery).then(() => {}));
        const byQuery = await timeMany(200, () => get(c + QUERIES.byQuery).then(() => {}));
        const byName = await timeMany(200, (i) => get(c + QUERIES.byName(i)).then(() => {}));
        const facets = await timeMany(50, () => get(c + QUERIES.facets).then(() => {}));
        Object.assign(figures, {
          'by-query p50 ms': pct(byQuery, 50),
          'by-query p95 ms': pct(byQuery, 95),
          'by-name p50 ms': pct(byName, 50),
          'facets p50 ms': pct(facets, 50),
        });

        // The deepest node: of 200 components, the one with the most transitive dependents.
        let deepest = '';
        let most = -1;
        for (let i = 0; i < 8280; i += 41) {
          const ref = `component:default/comp-${String(i).padStart(4, '0')}`;
          const r = await get(`${c}/idp/impact?ref=${ref}&limit=1`);
          if ((r.total as number) > most) [most, deepest] = [r.total as number, ref];
        }
        // A new catalog generation: the first page is measured without the report built before.
        const refreshed = await fetch(`${url}/api/catalog/idp/locations/${body.location.id}/refresh`, {
          method: 'POST',
          headers: h,
        });
        await refreshed.arrayBuffer();
        const cold = performance.now();
        await get(`${c}/idp/impact?ref=${deepest}&limit=50`);
        const firstPageCold = performance.now() - cold;
        const page = await timeMany(100, () => get(`${c}/idp/impact?ref=${deepest}&limit=50`).then(() => {}));
        const whole = await timeMany(20, () => get(`${c}/idp/impact?ref=${deepest}`).then(() => {}));
        Object.assign(figures, {
          'impact dependents': most,
          'impact first page (cold) ms': Number(firstPageCold.toFixed(2)),
          'impact first page p50 ms': pct(page, 50),
          'impact first page p95 ms': pct(page, 95),
          'impact whole report p50 ms': pct(whole, 50),
        });

        // A full re-ingest (every entity changed) while by-query runs back to back.
        relabel(file, target, 2);
        const latencies: number[] = [];
        let done = false;
        const r0 = performance.now();
        const refresh = fetch(`${url}/api/catalog/idp/locations/${body.location.id}/refresh`, {
          method: 'POST',
          headers: h,
        })
          .then(async (r) => ((await r.json()) as { updated: number }).updated)
          .finally(() => (done = true));
        while (!done) {
          const t = performance.now();
          await get(c + QUERIES.byQuery);
          latencies.push(performance.now() - t);
        }
        figures['re-ingest updated'] = await refresh;
        figures['re-ingest ms'] = Math.round(performance.now() - r0);
        latencies.sort((a, b) => a - b);
        figures['re-ingest queries'] = latencies.length;
        figures['re-ingest query p99 ms'] = pct(latencies, 99);
        figures['re-ingest query max ms'] = Number((latencies.at(-1) ?? NaN).toFixed(2));
        return figures;
      } finally {
        clearInterval(sampler);
        peak = Math.max(peak, memoryOf(child.pid!));
        figures['peak RSS MiB'] = Math.round(peak / 2 ** 20);
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
      }
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(BENCH_CONFIG, { force: true });
  }
}
