import { appendFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogsQuery } from '@idp/contracts';
import { stampOf } from '@idp/runtime-local';
import type { RequestContext } from '../../auth/context.ts';
import { followLogs, watchersOpen } from './log-follow.ts';
import { linesBackward } from './log-reader.ts';
import { LogService, levelOf } from './logs.ts';
import { TeamViews } from './team-views.ts';
import { ObservabilitySchema } from '../../config/index.ts';

// The reader on real files laid out as the runtime writes them. Who may read is decided by the
// deploy:read filter given as a dependency here (the policy itself is exercised end to end in
// test/e2e/observability-logs.test.ts).

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const at = (secondsAgo: number) => NOW - secondsAgo * 1000;
const ctx = (ref: string) => ({ principal: { ref } }) as unknown as RequestContext;
const q = (extra: Record<string, string> = {}) =>
  LogsQuery.parse({ service: 'payments-api', env: 'staging', ...extra });

describe('replica logs reader', () => {
  let root: string;
  let dir: string;
  let service: LogService;

  const file = (release: string, replica: number, suffix = '') => join(dir, release, `replica-${replica}.log${suffix}`);
  const write = (path: string, lines: Array<[number, string]>) =>
    writeFileSync(path, lines.map(([ago, text]) => `${stampOf(at(ago))}${text}\n`).join(''));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'idp-logs-'));
    dir = join(root, 'namespaces', 'payments-staging', 'logs', 'payments-api');
    mkdirSync(join(dir, 'v1'), { recursive: true });
    mkdirSync(join(dir, 'v2'), { recursive: true });
    // v1 replica 1: rotated twice; .2 is the oldest.
    write(file('v1', 1, '.2'), [
      [600, 'v1r1 oldest'],
      [590, 'v1r1 older'],
    ]);
    write(file('v1', 1, '.1'), [[500, 'v1r1 rotated']]);
    write(file('v1', 1), [
      [300, '{"level":"info","msg":"v1r1 json","order":17}'],
      [100, 'v1r1 plain newest'],
    ]);
    write(file('v2', 1), [
      [250, '{"level":"ERROR","msg":"v2r1 failed"}'],
      [50, 'v2r1 newest'],
    ]);
    write(file('v2', 2), [
      [200, '{"lvl":"warning","msg":"v2r2 json"}'],
      [20, '{"msg":"no level"}'],
    ]);
    appendFileSync(file('v2', 2), 'unstamped tail line\n');
    service = new LogService({
      readable: (ref) => Promise.resolve((row) => Promise.resolve(ref === 'alice' && row.service === 'payments-api')),
      teamOf: (s) => Promise.resolve(s === 'payments-api' ? 'payments' : null),
      namespaceOf: (env) => Promise.resolve(env === 'staging' ? 'payments-staging' : undefined),
      namespaceDir: (ns) => join(root, 'namespaces', ns),
      now: () => NOW,
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const flat = (result: Awaited<ReturnType<LogService['query']>>) =>
    result.data.result
      .flatMap((s) => s.values.map(([ns, line]) => ({ ns, line, ...s.stream })))
      .sort((a, b) => (BigInt(b.ns) > BigInt(a.ns) ? 1 : -1));

  it('answers in Loki streams shape, one stream per replica and level, newest first, times in ns', async () => {
    const result = await service.query(ctx('alice'), q());
    expect(result.status).toBe('success');
    expect(result.data.resultType).toBe('streams');
    const lines = flat(result);
    expect(lines.map((l) => l.line)).toEqual([
      'unstamped tail line',
      '{"msg":"no level"}',
      'v2r1 newest',
      'v1r1 plain newest',
      '{"lvl":"warning","msg":"v2r2 json"}',
      '{"level":"ERROR","msg":"v2r1 failed"}',
      '{"level":"info","msg":"v1r1 json","order":17}',
      'v1r1 rotated',
      'v1r1 older',
      'v1r1 oldest',
    ]);
    const json = lines.find((l) => l.line.includes('v1r1 json'))!;
    expect(json).toMatchObject({
      ns: `${BigInt(at(300)) * 1_000_000n}`,
      team: 'payments',
      service: 'payments-api',
      env: 'staging',
      namespace: 'payments-staging',
      release: 'v1',
      replica: '1',
      level: 'info',
    });
    expect(lines.find((l) => l.line.includes('v2r1 failed'))!.level).toBe('error');
    expect(lines.find((l) => l.line.includes('v2r2 json'))!.level).toBe('warn');
    expect(lines.find((l) => l.line === 'v1r1 plain newest')!).not.toHaveProperty('level');
    // An unstamped line takes the time of the line after it, or its file's modification time.
    expect(BigInt(lines[0]!.ns) > BigInt(at(20)) * 1_000_000n).toBe(true);
    // Streams: v1 r1 (plain, info), v2 r1 (plain, error), v2 r2 (warn, plain) — not one per line.
    expect(result.data.result).toHaveLength(6);
    for (const stream of result.data.result) {
      const ns = stream.values.map(([t]) => BigInt(t));
      expect([...ns].sort((a, b) => (b > a ? 1 : -1))).toEqual(ns);
    }
  });

  it('filters by since, grep, replica and release, and keeps the newest `limit` lines', async () => {
    const texts = async (extra: Record<string, string>) =>
      flat(await service.query(ctx('alice'), q(extra))).map((l) => l.line);
    expect(await texts({ since: '1m' })).toEqual(['unstamped tail line', '{"msg":"no level"}', 'v2r1 newest']);
    expect(await texts({ grep: 'json' })).toEqual([
      '{"lvl":"warning","msg":"v2r2 json"}',
      '{"level":"info","msg":"v1r1 json","order":17}',
    ]);
    expect(await texts({ release: 'v1' })).toHaveLength(5);
    expect(await texts({ release: 'v2', replica: '2' })).toEqual([
      'unstamped tail line',
      '{"msg":"no level"}',
      '{"lvl":"warning","msg":"v2r2 json"}',
    ]);
    expect(await texts({ limit: '3', release: 'v1' })).toEqual([
      'v1r1 plain newest',
      '{"level":"info","msg":"v1r1 json","order":17}',
      'v1r1 rotated',
    ]);
    const forward = await service.query(ctx('alice'), q({ limit: '3', release: 'v1', direction: 'forward' }));
    expect(forward.data.result.flatMap((s) => s.values.map(([, line]) => line))).toContain('v1r1 rotated');
    const v1plain = forward.data.result.find((s) => s.stream.level === undefined)!;
    expect(v1plain.values.map(([, line]) => line)).toEqual(['v1r1 rotated', 'v1r1 plain newest']);
  });

  it('gives an empty result, not an error, to a caller who may not read the service, and for unknown names', async () => {
    const empty = { status: 'success', data: { resultType: 'streams', result: [] } };
    expect(await service.query(ctx('dave'), q())).toEqual(empty);
    expect(await service.query(ctx('alice'), q({ env: 'production' }))).toEqual(empty);
    expect(await service.query(ctx('alice'), q({ release: '../v1' }))).toEqual(empty);
    expect(await service.query(ctx('alice'), q({ service: '../../etc' }))).toEqual(empty);
  });

  it('reads for the members of a team view whose selector matches, besides deploy:read; names are still checked first', async () => {
    const viewed = new LogService({
      readable: () => Promise.resolve(() => Promise.resolve(false)),
      views: new TeamViews({
        teams: ObservabilitySchema.parse({
          teams: [
            { name: 'sre', views: { logs: { paths: ['namespace=payments-*'] } } },
            { name: 'audit', members: ['frank'], views: { logs: { paths: ['service=*', 'env=prod'] } } },
          ],
        }).teams,
        groupMembers: (team) => (team === 'sre' ? ['erin'] : []),
      }),
      teamOf: (s) => Promise.resolve(s === 'payments-api' ? 'payments' : null),
      namespaceOf: (env) =>
        Promise.resolve(env === 'staging' ? 'payments-staging' : env === 'escape' ? '../..' : undefined),
      namespaceDir: (ns) => join(root, 'namespaces', ns),
      now: () => NOW,
    });
    const full = (name: string) => ctx(`user:default/${name}`);
    const empty = { status: 'success', data: { resultType: 'streams', result: [] } };
    expect(flat(await viewed.query(full('erin'), q()))).toHaveLength(10);
    expect(flat(await viewed.query(full('frank'), q()))).toHaveLength(10);
    expect(await viewed.query(full('dave'), q())).toEqual(empty);
    // service=* still never reaches a name that is not one, nor a namespace that climbs out.
    expect(await viewed.query(full('frank'), q({ service: '../payments-api' }))).toEqual(empty);
    expect(await viewed.query(full('frank'), q({ release: '..' }))).toEqual(empty);
    expect(await viewed.query(full('frank'), q({ env: 'escape' }))).toEqual(empty);
  });

  it('rejects a limit over 5000 and a malformed since at the schema', () => {
    expect(LogsQuery.safeParse({ service: 'a', env: 'b', limit: '5001' }).success).toBe(false);
    expect(LogsQuery.safeParse({ service: 'a', env: 'b', since: 'yesterday' }).success).toBe(false);
    expect(q().limit).toBe(1000);
  });

  it('reads the last lines of an 8 GiB file without loading it', async () => {
    const big = join(dir, 'v3', 'replica-1.log');
    mkdirSync(join(dir, 'v3'), { recursive: true });
    writeFileSync(big, '');
    truncateSync(big, 8 * 1024 ** 3); // sparse: takes no disk, and cannot be read into memory
    appendFileSync(big, Array.from({ length: 20 }, (_, i) => `${stampOf(at(10 - i * 0.1))}big line ${i}\n`).join(''));
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const result = await service.query(ctx('alice'), q({ release: 'v3', limit: '5' }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(flat(result).map((l) => l.line)).toEqual([
      'big line 19',
      'big line 18',
      'big line 17',
      'big line 16',
      'big line 15',
    ]);
    rmSync(join(dir, 'v3'), { recursive: true });
  });

  it('linesBackward splits across chunk boundaries, keeps a last line without newline, and cuts long lines', async () => {
    const path = join(root, 'chunks.log');
    writeFileSync(path, `first\n${'x'.repeat(50)}\n\nmiddle line\nlast without newline`);
    const lines: string[] = [];
    for await (const line of linesBackward(path, { chunkBytes: 7, maxLineBytes: 20 })) lines.push(line);
    expect(lines).toEqual(['last without newline', 'middle line', '', 'x'.repeat(20), 'first']);
  });

  it('names the level of JSON lines only from the bounded set', () => {
    expect(levelOf('{"level":30}')).toBe('info');
    expect(levelOf('{"severity":"CRITICAL"}')).toBe('fatal');
    expect(levelOf('{"level":"verbose-custom"}')).toBeUndefined();
    expect(levelOf('{not json')).toBeUndefined();
    expect(levelOf('level=info')).toBeUndefined();
  });

  it('follows new lines as written (new files too), and stopping releases every watcher', async () => {
    const baseline = watchersOpen();
    const seen: string[] = [];
    const follower = followLogs({
      serviceDir: dir,
      select: (log) => log.release === 'v1' || log.release === 'v4',
      onLine: (log, line) => seen.push(`${log.release}/${log.replica} ${line.text}`),
      pollMs: 5000, // longer than the test waits: the watch has to deliver
    });
    await follower.ready;
    expect(watchersOpen()).toBeGreaterThan(baseline);
    appendFileSync(file('v1', 1), `${stampOf(Date.now())}appended\npartial`);
    appendFileSync(file('v2', 1), `${stampOf(Date.now())}not selected\n`);
    await expect.poll(() => seen, { timeout: 1000 }).toEqual(['v1/1 appended']);
    appendFileSync(file('v1', 1), ' line\n');
    await expect.poll(() => seen, { timeout: 1000 }).toEqual(['v1/1 appended', 'v1/1 partial line']);
    mkdirSync(join(dir, 'v4'));
    writeFileSync(file('v4', 3), `${stampOf(Date.now())}new replica\n`);
    follower.stop();
    expect(watchersOpen()).toBe(baseline);
  });
});
