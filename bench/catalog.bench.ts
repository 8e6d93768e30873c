// Catalog at Backstage's benchmark size: the 10,000 entities that
// ../shared/bench/catalog-10k-generate.js writes (seed 42; the file Backstage's own backend was
// measured on — see shared/reference/backstage-catalog-api.md). Figures: full ingest through the
// API (register the file: read, validate, relations, search index, one transaction), then p50/p95
// of by-query with a filter and of `catalog:impact` on the deepest node, through real HTTP.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer } from '@idp/server';

const ROOT = resolve(import.meta.dirname, '..');
const GENERATOR = resolve(ROOT, '../shared/bench/catalog-10k-generate.js');
const LOCAL_GENERATOR = join(ROOT, 'bench/catalog-10k-generate.js');

function pct(sorted: number[], p: number): number {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
}

async function timeMany(n: number, f: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

async function runOn(label: string, databaseUrl: string | undefined, file: string): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-catalog-'));
  const server = await startServer({
    port: 0,
    dataDir,
    databaseUrl,
    adminToken: 'bench',
    logLevel: 'warn',
    log: () => {},
    catalogTimer: false,
    proxyPort: 0,
  });
  const h = { authorization: 'Bearer bench', 'content-type': 'application/json' };
  try {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/catalog/idp/locations`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ target: file, type: 'file' }),
    });
    const body = (await res.json()) as { added: number; errors: number };
    const ingestMs = performance.now() - t0;
    if (res.status !== 201) throw new Error(`register failed: ${JSON.stringify(body)}`);

    const q = `${server.url}/api/catalog/entities/by-query?filter=kind%3Dcomponent%2Cspec.type%3Dservice&limit=50`;
    await fetch(q, { headers: h });
    const byQuery = await timeMany(200, async () => {
      const r = await fetch(q, { headers: h });
      if (r.status !== 200) throw new Error(`by-query ${r.status}`);
      await r.arrayBuffer();
    });

    // The deepest node: of 200 components, the one with the most transitive dependents.
    let deepest = '';
    let most = -1;
    for (let i = 0; i < 8280; i += 41) {
      const ref = `component:default/comp-${String(i).padStart(4, '0')}`;
      const r = (await (await fetch(`${server.url}/api/catalog/idp/impact?ref=${ref}`, { headers: h })).json()) as {
        dependents: unknown[];
      };
      if (r.dependents.length > most) [most, deepest] = [r.dependents.length, ref];
    }
    const impact = await timeMany(100, async () => {
      const r = await fetch(`${server.url}/api/catalog/idp/impact?ref=${deepest}`, { headers: h });
      if (r.status !== 200) throw new Error(`impact ${r.status}`);
      await r.arrayBuffer();
    });
    const figures = {
      'ingest ms': Math.round(ingestMs),
      'entities added': body.added,
      'ingest errors': body.errors,
      'by-query p50 ms': pct(byQuery, 50),
      'by-query p95 ms': pct(byQuery, 95),
      'impact dependents': most,
      'impact p50 ms': pct(impact, 50),
      'impact p95 ms': pct(impact, 95),
    };
    console.log(`catalog on ${label} (10,000 entities; targets: ingest ≤ 5000 ms, p95 ≤ 20 ms):`, figures);
    return figures;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-10k-'));
  const file = join(work, 'entities.yaml');
  const generator = existsSync(GENERATOR) ? GENERATOR : LOCAL_GENERATOR;
  execFileSync(process.execPath, [generator, file, '42'], { stdio: 'ignore' });
  try {
    const figures: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(await runOn('SQLite', undefined, file))) figures[`sqlite ${k}`] = v;
    if (process.env.IDP_BENCH_PG_URL) {
      for (const [k, v] of Object.entries(await runOn('PostgreSQL', process.env.IDP_BENCH_PG_URL, file)))
        figures[`postgres ${k}`] = v;
    }
    return figures;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
