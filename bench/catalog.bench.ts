// Catalog at Backstage's benchmark size: the 10,000 entities that bench/catalog-10k-generate.cjs
// writes (seed 42), on SQLite and on PostgreSQL (when one answers at IDP_BENCH_PG_URL, default the
// local server), idp (bench/catalog-idp.ts) and, in the same run, Backstage's own catalog backend
// (bench/catalog-backstage.ts, when present; IDP_BENCH_CATALOG_PEER=0 leaves it out) on the same file
// and store (IDP_BENCH_CATALOG_STORES picks the stores). Prints one table: each figure for both,
// the ratio, idp's target and pass/fail.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { runIdp, type Figures } from './catalog-idp.ts';
import { addRow } from './table.ts';

const ROOT = resolve(import.meta.dirname, '..');
const GENERATOR = join(ROOT, 'bench/catalog-10k-generate.cjs');
const PEER = join(ROOT, 'bench/catalog-backstage.ts');
const PG_ADMIN = process.env.IDP_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

type Store = 'sqlite' | 'postgres';
type PeerRunner = (store: Store, o: { file: string; pgUrl?: string }) => Promise<Figures>;

/** idp's targets: the figure, how it compares, and the bound. */
const TARGETS: Record<string, { max?: number; peerRatioMin?: number }> = {
  'ingest ms': { max: 5000, peerRatioMin: 18 },
  'by-query p50 ms': {},
  'by-query p95 ms': { max: 10 },
  'by-name p50 ms': { max: 1 },
  'facets p50 ms': {},
  'peak RSS MiB': { max: 250 },
  're-ingest ms': {},
  're-ingest query p99 ms': {},
  're-ingest query max ms': { max: 50 },
  'impact dependents': {},
  'impact first page p50 ms': { max: 20 },
  'impact first page p95 ms': {},
  'impact first page (cold) ms': {},
  'impact whole report p50 ms': {},
};

async function postgresAnswers(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function loadPeer(): Promise<PeerRunner | undefined> {
  if (process.env.IDP_BENCH_CATALOG_PEER === '0' || !existsSync(PEER)) return undefined;
  const mod = (await import(pathToFileURL(PEER).href)) as { runBackstage?: PeerRunner };
  return mod.runBackstage;
}

function row(store: Store, figure: string, ours: number | string | undefined, theirs: number | string | undefined) {
  const t = TARGETS[figure] ?? {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const a = num(ours);
  const b = num(theirs);
  const ratio = a !== undefined && b !== undefined && a > 0 ? b / a : undefined;
  // A peer that timed out took longer than its timeout: the ratio is at least that over ours.
  const timedOut = typeof theirs === 'string' ? /^timeout (\d+) s/.exec(theirs) : null;
  const atLeast = timedOut && a ? (Number(timedOut[1]) * 1000) / a : undefined;
  const checks: boolean[] = [];
  const target: string[] = [];
  if (t.max !== undefined) {
    target.push(`≤ ${t.max}`);
    checks.push(a !== undefined && a <= t.max);
  }
  if (t.peerRatioMin !== undefined && theirs !== undefined) {
    target.push(`≥ ${t.peerRatioMin}× faster`);
    checks.push(ratio !== undefined ? ratio >= t.peerRatioMin : atLeast !== undefined && atLeast >= t.peerRatioMin);
  }
  return {
    store,
    figure,
    idp: ours ?? '-',
    backstage: theirs ?? '-',
    ratio:
      ratio !== undefined
        ? `${ratio.toFixed(ratio >= 10 ? 0 : 1)}×`
        : atLeast !== undefined
          ? `> ${atLeast.toFixed(atLeast >= 10 ? 0 : 1)}×`
          : '-',
    target: target.join(', ') || '-',
    result: checks.length === 0 ? '-' : checks.every(Boolean) ? 'pass' : 'FAIL',
  };
}

function printTable(rows: ReturnType<typeof row>[]): void {
  const cols = ['store', 'figure', 'idp', 'backstage', 'ratio', 'target', 'result'] as const;
  const cells = rows.map((r) => cols.map((c) => String(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (v: readonly string[]) =>
    v
      .map((s, i) => s.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log([line(cols.map((c) => (c === 'ratio' ? 'ratio (Backstage/idp)' : c))), ...cells.map(line)].join('\n'));
}

export async function run(): Promise<Figures> {
  // The server the benchmark measures is the compiled one, as users run it (`npm run build`).
  if (existsSync(join(ROOT, 'scripts/build.ts')))
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--if-stale'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-10k-'));
  const file = join(work, 'entities.yaml');
  execFileSync(process.execPath, [GENERATOR, file, '42'], {
    stdio: 'ignore',
  });
  try {
    // IDP_BENCH_CATALOG_STORES=sqlite (or postgres) measures one store only.
    const only = (process.env.IDP_BENCH_CATALOG_STORES ?? 'sqlite,postgres').split(',');
    const stores = (['sqlite', ...((await postgresAnswers()) ? (['postgres'] as const) : [])] as Store[]).filter((s) =>
      only.includes(s),
    );
    const peer = await loadPeer();
    const out: Figures = {};
    const rows: ReturnType<typeof row>[] = [];
    for (const store of stores) {
      const pgUrl = store === 'postgres' ? PG_ADMIN : undefined;
      const ours = await runIdp(file, pgUrl);
      console.log(`idp catalog on ${store}:`, ours);
      let theirs: Figures = {};
      if (peer) {
        try {
          theirs = await peer(store, { file, ...(pgUrl ? { pgUrl } : {}) });
        } catch (err) {
          console.log(`Backstage on ${store} failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      for (const figure of Object.keys(TARGETS)) {
        if (ours[figure] === undefined && theirs[figure] === undefined) continue;
        const r = row(store, figure, ours[figure], theirs[figure]);
        rows.push(r);
        out[`${store} ${figure}`] = r.idp;
        if (r.backstage !== '-') out[`${store} backstage ${figure}`] = r.backstage;
        if (r.ratio !== '-') out[`${store} ratio ${figure}`] = r.ratio;
        if (r.result !== '-') out[`${store} result ${figure}`] = r.result;
        if (r.backstage !== '-' || r.result !== '-')
          addRow({
            bench: 'catalog',
            figure: `${store}: ${figure}`,
            idp: String(r.idp),
            peer: r.backstage === '-' ? '-' : `Backstage on ${store}`,
            peerValue: String(r.backstage),
            ratio: r.ratio === '-' ? '-' : `${r.ratio} (Backstage ÷ idp)`,
            target: r.target,
            result: r.result === 'pass' ? 'met' : r.result === 'FAIL' ? 'MISSED' : '-',
          });
      }
    }
    console.log('\ncatalog, 10,000 entities: idp vs Backstage’s catalog backend, same file, same store, same run');
    printTable(rows);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
